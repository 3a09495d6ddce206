/* www.h - the page's files, built into lbpeer (peer/www/, embedded by
 * peer/www/embed.sh into the generated peer/www.c). */
#ifndef LB_WWW_H
#define LB_WWW_H

#include <stddef.h>

struct www_file {
	const char		*name;	/* base name: index.html, page.js */
	const unsigned char	*data;
	size_t			 len;
};

/* Ended by an entry whose name is NULL. */
extern const struct www_file www_files[];

#endif

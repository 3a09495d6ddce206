/*
 * replay.c - a harness without libFuzzer: each argument, a file or a
 * directory of files, is read and handed to LLVMFuzzerTestOneInput once.
 * `make check` links every harness with it (gcc is enough) and replays the
 * seed corpus and the findings in t/fuzz-corpus/, so that a regression
 * shows without clang.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int
one(const char *path)
{
	FILE	*f = fopen(path, "rb");
	uint8_t	*buf;
	long	 n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		perror(path);
		return -1;
	}
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		perror(path);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	int	files = 0, bad = 0;

	for (int i = 1; i < argc; i++) {
		struct stat	 st;
		DIR		*d;
		struct dirent	*de;

		if (stat(argv[i], &st) == -1) {
			perror(argv[i]);
			bad++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad += one(argv[i]) == -1;
			files++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL) {
			perror(argv[i]);
			bad++;
			continue;
		}
		while ((de = readdir(d)) != NULL) {
			char *p;

			if (de->d_name[0] == '.')
				continue;
			p = lb_printf("%s/%s", argv[i], de->d_name);
			bad += one(p) == -1;
			files++;
			free(p);
		}
		closedir(d);
	}
	printf("%d inputs replayed\n", files);
	return bad ? 1 : 0;
}

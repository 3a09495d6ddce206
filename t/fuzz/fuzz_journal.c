/*
 * fuzz_journal.c - the journal read back at start (peer/journal.c), and
 * the records it hands back restored into the task core, as lbpeer does
 * at start (glue.c replay_cb, tasks_seq_floor, tasks_start), then
 * compacted (the records the core keeps packed again).
 *
 * The first byte chooses what the journal file holds:
 *   0: the rest of the input as it is (frames, damage, the old format);
 *   1: the rest is records, each a TaskRecord's bytes framed with a good
 *      header and check, so that the record decoder and tasks_restore see
 *      fuzzed records (the check is the journal's tag);
 * and its next bit whether journal.ids is there ("reserved 1000").
 * The files live in a directory made once, under $TMPDIR.
 */
#include "config.h"

#include <endian.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz.h"
#include "peer/journal.h"
#include "tasks/tasks.h"

static char	*dir, *jpath, *ipath;

static void
setup(void)
{
	const char	*tmp = getenv("TMPDIR");
	char		*t;

	if (dir != NULL)
		return;
	t = lb_printf("%s/lbfuzz-journal.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if ((dir = mkdtemp(t)) == NULL)
		abort();
	jpath = lb_printf("%s/journal", dir);
	ipath = lb_printf("%s/journal.ids", dir);
}

static void
put(const char *path, const void *buf, size_t len)
{
	int	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd == -1 || (len > 0 && write(fd, buf, len) != (ssize_t)len))
		abort();
	close(fd);
}

static void
restore(Lb__TaskRecord *rec, void *arg)
{
	tasks_restore(arg, rec);
}

struct keep {
	struct tasks_task	**all;
	size_t			  n, i;
};

static const Lb__TaskRecord *
next(void *arg)
{
	struct keep	*k = arg;

	while (k->i < k->n)
		if (k->all[k->i++]->rec != NULL)
			return k->all[k->i - 1]->rec;
	return NULL;
}

/* Frame records [ctl][len][bytes] as journal.c writes them. */
static uint8_t *
frames(struct fz_rd *r, size_t *outlen)
{
	static const uint8_t magic[4] = { 0xf5, 'L', 'B', 'J' };
	uint8_t		*out = NULL, ctl;
	const uint8_t	*b;
	size_t		 len, n = 0;
	uint32_t	 le;
	crypto_generichash_state st;

	while (fz_record(r, &ctl, &b, &len) == 0) {
		out = lb_reallocarray(out, 1, n + 16 + len + 1);
		memcpy(out + n, magic, 4);
		le = htole32((uint32_t)len);
		memcpy(out + n + 4, &le, 4);
		if (len > 0)
			memcpy(out + n + 16, b, len);
		crypto_generichash_init(&st, NULL, 0, 8);
		crypto_generichash_update(&st, out + n, 8);
		crypto_generichash_update(&st, out + n + 16, len);
		crypto_generichash_final(&st, out + n + 8, 8);
		if (ctl & 0x80)		/* damage it */
			out[n + 16 + (len ? ctl % len : 0) - (len ? 0 : 8)] ^=
			    0x40;
		n += 16 + len;
	}
	*outlen = n;
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tasks_conf tc = {
		.slots = 2, .transfer_timeout_ms = 300, .retry_min_ms = 50,
		.retry_max_ms = 2000, .keep_finished_s = 1000, .max_tasks = 64,
		.max_links = 16, .link_keep_s = 60, .attach_limit = 1 << 20,
		.checkpoint_timeout_ms = 200, .checkpoint_grace_ms = 20
	};
	static const char ids[] = "reserved 1000\n";
	struct journal		*j;
	struct journal_report	 rep;
	struct tasks		*t;
	struct tasks_out	 o = { 0 };
	struct fz_rd		 r;
	struct keep		 k;
	char			*cause = NULL;
	uint8_t			*buf;
	size_t			 len;

	fz_init();
	setup();
	if (size < 1)
		return 0;
	r.p = data + 1;
	r.n = size - 1;
	if (data[0] & 1) {
		buf = frames(&r, &len);
		put(jpath, buf, len);
		free(buf);
	} else
		put(jpath, r.p, r.n);
	if (data[0] & 2)
		unlink(ipath);
	else
		put(ipath, ids, sizeof(ids) - 1);
	t = tasks_new(&tc, "n1", 2, "", 0);
	memset(&rep, 0, sizeof(rep));
	if ((j = journal_open(dir, restore, t, &rep, &cause)) == NULL)
		free(cause);
	else {
		tasks_seq_floor(t, journal_ids_floor(j));
		tasks_start(t, 1000000, &o);
		tasks_out_reset(&o);
		tasks_tick(t, 1000000, &o);
		k.all = tasks_all(t, &k.n);
		k.i = 0;
		if (journal_compact(j, next, &k, &cause) == -1)
			free(cause);
		journal_close(j);
	}
	tasks_out_free(&o);
	tasks_free(t);
	return 0;
}

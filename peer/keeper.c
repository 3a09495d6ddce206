/*
 * keeper.c - the lease keeper.  A host may run a task homed elsewhere only
 * while its lease lasts; the daemon freezes the task from its event loop
 * when the lease runs out, but a daemon that is itself stopped (SIGSTOP, a
 * debugger, a long stall) would let the task run on while its home runs it
 * again elsewhere.  So a second, tiny process, forked before the daemon
 * has any thread or socket, watches a table in shared memory of process
 * groups and the end of their leases, and sends SIGSTOP to a group whose
 * lease has ended.  It makes no other decision: the daemon lets a group
 * run again (SIGCONT) when its lease comes back, or kills it.
 *
 * When the daemon dies, the keeper kills every group in its table and
 * exits: PR_SET_PDEATHSIG takes only a task's first process, and a frozen
 * group left orphaned would get SIGCONT from the kernel.  It runs in a
 * process group of its own, deaf to the terminal's ^C and ^Z.
 *
 * Each slot's fields are read and written with atomic operations; a slot
 * is taken by writing its group, then the end; freed by clearing the end,
 * then the group, and the keeper checks the group again after it read the
 * end, so that it never stops a group on a slot being reused.  To freeze,
 * it marks the slot frozen first, stops the group, then reads the end
 * again: when the daemon renewed it meanwhile (and saw no mark), the
 * keeper lets the group run on itself.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "src/util.h"
#include "keeper.h"

struct kslot {
	int32_t		pgid;
	int32_t		frozen;
	uint64_t	until;
};

static struct kslot	*slots;
static size_t		 nslots;
static pid_t		 keeper_pid_;

#define LD(x)		__atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define ST(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)

#define KEEPER_TICK_NS	(10 * 1000 * 1000)

/* The keeper's loop: it calls only async-signal-safe functions. */
static void __attribute__((noreturn))
keeper_main(pid_t parent)
{
	struct timespec	ts = { 0, KEEPER_TICK_NS };

	/* A terminal's ^C, ^Z or hang-up, or a stop meant for the daemon,
	 * is not for it: it goes when the daemon goes. */
	setpgid(0, 0);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTSTP, SIG_IGN);
	signal(SIGTTIN, SIG_IGN);
	signal(SIGTTOU, SIG_IGN);
	prctl(PR_SET_NAME, "lbpeer-keeper", 0, 0, 0);
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	for (;;) {
		uint64_t now = lb_mono_ms();

		if (getppid() != parent) {
			/* The daemon died: so do its tasks, every process of
			 * them. */
			for (size_t i = 0; i < nslots; i++) {
				int32_t pg = LD(slots[i].pgid);
				if (pg > 1)
					kill(-pg, SIGKILL);
			}
			_exit(0);
		}
		for (size_t i = 0; i < nslots; i++) {
			int32_t		pg = LD(slots[i].pgid);
			uint64_t	until;

			if (pg <= 1 || LD(slots[i].frozen))
				continue;
			until = LD(slots[i].until);
			if (until == 0 || now < until || LD(slots[i].pgid) != pg)
				continue;
			ST(slots[i].frozen, 1);
			kill(-pg, SIGSTOP);
			until = LD(slots[i].until);
			if (LD(slots[i].pgid) == pg && (until == 0 ||
			    lb_mono_ms() < until)) {
				/* Renewed meanwhile. */
				kill(-pg, SIGCONT);
				ST(slots[i].frozen, 0);
			}
		}
		nanosleep(&ts, NULL);
	}
}

int
keeper_start(size_t n, char **cause)
{
	pid_t	pid, parent = getpid();
	void	*m;

	m = mmap(NULL, n * sizeof(*slots), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		*cause = lb_printf("lease keeper: mmap: %s", strerror(errno));
		return -1;
	}
	slots = m;
	nslots = n;
	if ((pid = fork()) == -1) {
		*cause = lb_printf("lease keeper: fork: %s", strerror(errno));
		munmap(m, n * sizeof(*slots));
		slots = NULL;
		nslots = 0;
		return -1;
	}
	if (pid == 0)
		keeper_main(parent);
	keeper_pid_ = pid;
	return 0;
}

pid_t
keeper_pid(void)
{
	return keeper_pid_;
}

static struct kslot *
find(pid_t pgid)
{
	for (size_t i = 0; i < nslots; i++)
		if (LD(slots[i].pgid) == pgid)
			return &slots[i];
	return NULL;
}

int
keeper_set(pid_t pgid, uint64_t until)
{
	struct kslot	*s;

	if (pgid <= 1)
		return -1;
	if ((s = find(pgid)) == NULL) {
		if ((s = find(0)) == NULL)
			return -1;
		ST(s->until, 0);
		ST(s->frozen, 0);
		ST(s->pgid, pgid);
	}
	ST(s->until, until);
	if (LD(s->frozen) && (until == 0 || lb_mono_ms() < until)) {
		kill(-pgid, SIGCONT);
		ST(s->frozen, 0);
		return 1;
	}
	return 0;
}

void
keeper_mark(pid_t pgid, int frozen)
{
	struct kslot *s = find(pgid);

	if (s != NULL)
		ST(s->frozen, frozen ? 1 : 0);
}

int
keeper_frozen(pid_t pgid)
{
	struct kslot *s = find(pgid);

	return s != NULL && LD(s->frozen);
}

void
keeper_clear(pid_t pgid)
{
	struct kslot *s = find(pgid);

	if (s == NULL)
		return;
	ST(s->until, 0);
	ST(s->frozen, 0);
	ST(s->pgid, 0);
}

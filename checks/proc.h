/*
 * proc.h - one scan of the process table, shared by every process check of
 * a run. Rules from collectd's processes.c: read each file whole into a
 * fixed buffer, take the name between the first '(' and the LAST ')' (a comm
 * may hold spaces and parentheses), and treat a pid that vanished between
 * readdir() and open() as a process that just exited, not an error.
 */
#ifndef CUSTOS_PROC_H
#define CUSTOS_PROC_H

#include <stddef.h>
#include <sys/types.h>

#define PROC_COMM_MAX 64      /* the kernel keeps 16; fixtures may hold more */
#define PROC_CMDLINE_MAX 4096 /* longer command lines are cut for matching */

struct proc_entry {
	pid_t pid;
	char state;               /* 'R', 'S', 'Z', ... */
	uid_t uid;                /* effective uid; valid when the table has uids */
	char comm[PROC_COMM_MAX];
	char *cmdline;            /* NUL-separated args joined by spaces; heap or NULL */
};

struct proc_table {
	size_t n, cap;
	struct proc_entry *v;     /* owned */
	int have_cmdline, have_uid;
	size_t vanished;          /* pids that went away mid-scan */
};

/*
 * Scans root for numeric directories. cmdline and uid are read only when
 * asked for (they cost a file each). Returns 0 with *out (owned by the
 * caller: proc_table_free), or -1 with err when root itself is unreadable.
 */
int proc_scan(const char *root, int want_cmdline, int want_uid, pid_t exclude,
    struct proc_table **out, char *err, size_t errlen);
void proc_table_free(struct proc_table *t);
/* Parses one stat line into e (pid, comm, state). 0, or -1 when malformed. */
int proc_parse_stat(const char *buf, struct proc_entry *e);
/* The entry for pid, or NULL. */
const struct proc_entry *proc_find(const struct proc_table *t, pid_t pid);

#endif

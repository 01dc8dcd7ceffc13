/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one event layout shared by the kernel programs (bpf/) and the agent
 * (imported into Swift through CBPF). Every record written to the ring buffer
 * starts with `struct witness_event_header`; `kind` says which payload follows.
 *
 * Fixed-width types, explicit padding, sizes checked by _Static_assert on both
 * sides: a change here that moves a field fails the build, not a test at 3 a.m.
 */
#ifndef WITNESS_EVENT_H
#define WITNESS_EVENT_H

#if defined(__bpf__)
#include "include/kernel_types.h"
#else
#include <linux/types.h>
#endif

/* Bumped whenever a record's layout changes: recordings say which layout they hold. */
#define WITNESS_EVENT_LAYOUT_VERSION 3

#define WITNESS_COMM_LEN 16
/* Bytes of a datagram destination's sockaddr that tell it apart (a sockaddr_in6). */
#define WITNESS_PEER_ADDR 28
/* Bytes kept of one path or file name; a longer one is cut and flagged. */
#define WITNESS_PATH_MAX 4096
#define WITNESS_ENV_MAX 4096      /* environment bytes kept of an exec (proc.env) */
/* Bytes kept of an exec's argument vector (NUL-separated), cut and flagged beyond. */
#define WITNESS_ARGS_MAX 4096
/* Directory components walked to resolve a relative path in the kernel. */
#define WITNESS_PATH_DEPTH 48
/* Arguments read from user memory for a failed exec (a successful one reads mm->arg_*). */
#define WITNESS_FAILED_EXEC_ARGS 16
/* Bytes kept of a socket address: enough for sockaddr_un (110) and sockaddr_in6 (28). */
#define WITNESS_SOCKADDR_MAX 128
/* Subjects (cgroup sets or PID trees) witnessed at once: one bit each in `subjects`. */
#define WITNESS_MAX_SUBJECTS 64
/* The largest record any program builds; the per-CPU scratch buffer is this big. */
#define WITNESS_EVENT_MAX 32768

/* What a record is. */
enum witness_event_kind {
    WITNESS_EVENT_EXEC = 1,    /* struct witness_exec_event */
    WITNESS_EVENT_EXIT = 2,    /* header only; result is the exit status */
    WITNESS_EVENT_FORK = 3,    /* struct witness_fork_event */
    WITNESS_EVENT_OPEN = 4,    /* struct witness_open_event */
    WITNESS_EVENT_CONNECT = 5, /* struct witness_connect_event */
    WITNESS_EVENT_WAKE = 6,    /* struct witness_wake_record: wakes a sleeping consumer, carries nothing */
    WITNESS_EVENT_SYSCALL = 7, /* struct witness_syscall_event: any other witnessed syscall */
    WITNESS_EVENT_ACTIVATE = 8, /* header only: an armed window's cgroup was created (header.cgroup_id, .subjects) */
    WITNESS_EVENT_ENTER = 9,    /* header only: process header.result entered subject cgroup header.cgroup_id from
                                   outside (a cgroup.procs write, clone3 CLONE_INTO_CGROUP from an outsider) */
    WITNESS_EVENT_ESCAPE = 10,  /* header only: process header.result left the subjects header.subjects for cgroup
                                   header.cgroup_id (a cgroup.procs or cgroup.threads write); it is followed */
};

/* Which system call produced a record: architecture-neutral numbering. */
enum witness_syscall {
    WITNESS_SYS_NONE = 0,
    WITNESS_SYS_EXECVE = 1,
    WITNESS_SYS_EXECVEAT = 2,
    WITNESS_SYS_OPEN = 3,
    WITNESS_SYS_OPENAT = 4,
    WITNESS_SYS_OPENAT2 = 5,
    WITNESS_SYS_CONNECT = 6,
    WITNESS_SYS_CLONE = 7,
    WITNESS_SYS_EXIT = 8,
    /* 9 and above: numbered by the agent's table (SyscallTable) and given to the
     * programs through the shapes map; listen is fixed as well, because ia32
     * socketcall(SYS_LISTEN) reports it without a shape of its own. */
    WITNESS_SYS_LISTEN = 67,
};

/*
 * Syscalls are seen at one hook, the raw sys_exit tracepoint, whatever gate they
 * came through (syscall, int $0x80, sysenter). The agent describes each syscall it
 * reports in a map indexed by table * WITNESS_SYSCALL_SLOTS + number (tables:
 * enum witness_syscall_table), one 64-bit shape per entry, byte by byte:
 *   bytes 0-1  the syscall (enum witness_syscall numbering; 0: counted, not reported)
 *   byte 2     argument holding the first path (WITNESS_ARG_NONE: none)
 *   byte 3     its directory: an argument holding a dirfd, WITNESS_ARG_CWD,
 *              WITNESS_ARG_FD (the path argument is a descriptor: its file's path),
 *              or WITNESS_ARG_NONE (kept as is)
 *   byte 4, 5  the same for a second path
 *   byte 6     argument holding a descriptor whose socket family is reported
 *   byte 7     the handler (enum witness_handler), which may read bytes 2-6 its own way
 */
#define WITNESS_ARG_NONE 0xFF
#define WITNESS_ARG_CWD 0xFE
#define WITNESS_ARG_FD 0xFD
/* OPEN (byte 4): flags and mode are in the struct open_how that argument 2 points to (openat2). */
#define WITNESS_ARG_OPEN_HOW 0xFC
/* OPEN: creat(2)'s implied flags, O_CREAT | O_WRONLY | O_TRUNC. */
#define WITNESS_ARG_CREAT_FLAGS 0xFB
/* CLONE: the flags are in the struct clone_args that argument 0 points to. */
#define WITNESS_ARG_CLONE_ARGS 0xFA
/* FASTOPEN: the address is in the struct msghdr that argument 1 points to. */
#define WITNESS_ARG_MSGHDR 0xF9
/* GENERIC (as a directory): the path argument is a name only when argument 0 is
 * PR_SET_NAME (prctl). */
#define WITNESS_ARG_PRCTL_NAME 0xF8

/* Syscall numbers per table: enough for either x86-64 table (both end below 470). */
#define WITNESS_SYSCALL_SLOTS 512
enum witness_syscall_table {
    WITNESS_TABLE_NATIVE = 0,
    WITNESS_TABLE_COMPAT = 1, /* x86-64: the ia32 table, reached by int $0x80 or sysenter */
    WITNESS_SYSCALL_TABLES = 2,
};

/* What the sys_exit program does with a syscall of a subject. */
enum witness_handler {
    WITNESS_HANDLER_COUNT = 0,    /* counted in the profile only */
    WITNESS_HANDLER_GENERIC = 1,  /* struct witness_syscall_event, arguments as the shape says */
    WITNESS_HANDLER_OPEN = 2,     /* open event: byte 2 path, 3 dir, 4 flags, 5 mode */
    WITNESS_HANDLER_CONNECT = 3,  /* connect event: fd, sockaddr, length in arguments 0-2 */
    WITNESS_HANDLER_EXEC = 4,     /* failed exec: byte 2 filename, 3 dir, 4 argv (success: sched_process_exec) */
    WITNESS_HANDLER_CLONE = 5,    /* failed clone: byte 2 flags (success: sched_process_fork) */
    WITNESS_HANDLER_FASTOPEN = 6, /* sendto/sendmsg with MSG_FASTOPEN: a connect; byte 2 address, 3 flags */
    WITNESS_HANDLER_SOCKETCALL = 7, /* ia32 socketcall(2): SYS_CONNECT decoded as a connect */
    WITNESS_HANDLER_EXIT = 8,     /* exit, exit_group: never return; counted at sched_process_exit */
    WITNESS_HANDLER_MMAP = 9,     /* mmap: a generic record, only for an executable mapping of a file */
    WITNESS_HANDLER_MPROTECT = 10, /* mprotect to PROT_EXEC of a file's mapping: a generic record naming the file */
    WITNESS_HANDLER_LISTEN = 11,  /* listen that succeeded: a connect record with the local end only */
};

/*
 * io_uring operations that have a syscall twin are reported as that syscall: the
 * agent writes the twin's shape at the operation's opcode in witness_io_uring_ops,
 * and the submit program lays out the operation's fields as the twin's arguments
 * (paths are the kernel's copies, read from kernel memory):
 *   OPENAT, OPENAT2  dfd, path, flags, mode           (open handler, bytes 1 0 2 3)
 *   CONNECT          fd, sockaddr (user), length       (connect handler)
 *   RENAMEAT, LINKAT old dfd, old path, new dfd, new path, flags
 *   UNLINKAT         dfd, path, flags
 *   SYMLINKAT        target, new dfd, link path
 */
#define WITNESS_IO_URING_OPS 64
enum witness_io_uring_op {
    WITNESS_IORING_OP_CONNECT = 16,
    WITNESS_IORING_OP_OPENAT = 18,
    WITNESS_IORING_OP_OPENAT2 = 28,
    WITNESS_IORING_OP_RENAMEAT = 35,
    WITNESS_IORING_OP_UNLINKAT = 36,
    WITNESS_IORING_OP_SYMLINKAT = 38,
    WITNESS_IORING_OP_LINKAT = 39,
};

/* Bytes of the in-kernel syscall profile: one counter per subject, table and number. */
#define WITNESS_PROFILE_ENTRIES (WITNESS_MAX_SUBJECTS * WITNESS_SYSCALL_TABLES * WITNESS_SYSCALL_SLOTS)

/* Bits of witness_event_header.flags. */
enum witness_event_flags {
    WITNESS_FLAG_PATH_TRUNCATED = 1 << 0,     /* path/filename longer than kept */
    WITNESS_FLAG_ARGS_TRUNCATED = 1 << 1,     /* argv longer than kept */
    WITNESS_FLAG_ADDR_TRUNCATED = 1 << 2,     /* socket address longer than kept */
    WITNESS_FLAG_PATH_UNREADABLE = 1 << 3,    /* user memory could not be read */
    WITNESS_FLAG_ARGS_UNREADABLE = 1 << 4,
    WITNESS_FLAG_ADDR_UNREADABLE = 1 << 5,
    WITNESS_FLAG_LOCAL_ADDR = 1 << 6,         /* connect: local address/port filled */
    WITNESS_FLAG_DIR_TRUNCATED = 1 << 7,      /* the directory of a relative path was cut */
    WITNESS_FLAG_EXE_MEMFD = 1 << 8,          /* exec: the executable is a memfd (fileless) */
    WITNESS_FLAG_PATH2_TRUNCATED = 1 << 9,    /* syscall: the second path was cut */
    WITNESS_FLAG_COMPAT = 1 << 10,            /* made through the 32-bit (ia32) syscall table */
    WITNESS_FLAG_X32 = 1 << 11,               /* made through the x32 ABI */
    WITNESS_FLAG_FASTOPEN = 1 << 12,          /* connect: a TCP fast open by sendto/sendmsg */
    WITNESS_FLAG_SOCKETCALL = 1 << 13,        /* connect: through ia32 socketcall(2) */
    WITNESS_FLAG_IO_URING = 1 << 14,          /* submitted through io_uring: result not observed */
    WITNESS_FLAG_EXE_DELETED = 1 << 15,       /* exec: the executable has no name left (unlinked) */
    WITNESS_FLAG_EXE_UPPER = 1 << 16,         /* exec: the executable is in an overlay's upper layer */
    WITNESS_FLAG_EXE_SCRIPT = 1 << 17,        /* exec: a script, run by the interpreter its #! names */
    WITNESS_FLAG_ENV_TRUNCATED = 1 << 18,     /* exec: the environment was longer than kept */
    WITNESS_FLAG_DATAGRAM = 1 << 19,          /* connect: a datagram sent to an address (sendto, sendmsg) */
    WITNESS_FLAG_CREATED = 1 << 20,           /* open: the open made the file (the kernel's FMODE_CREATED) */
    WITNESS_FLAG_FOUND = 1 << 21,             /* made by the agent from state found as a window began, not by a syscall */
    WITNESS_FLAG_BY_SUBJECT = 1 << 22,        /* enter: the process that moved it in is a subject of those windows */
};

/* Why the kernel side lost something; index of the per-CPU drop counters. */
enum witness_drop_reason {
    WITNESS_DROP_RINGBUF_FULL = 0,   /* ring buffer had no room: event lost */
    WITNESS_DROP_PENDING_FULL = 1,   /* unused since syscalls are seen at exit only; kept for the layout */
    WITNESS_DROP_SUBJECT_FULL = 2,   /* PID-tree table full: a child left unfollowed */
    WITNESS_DROP_REASONS = 3,
};

/* Wake policy the consumer asks of the kernel side (witness_control.consumer_state). */
enum witness_consumer_state {
    WITNESS_CONSUMER_LAZY = 0,   /* consumer drains on its own timer: wake only at the watermark */
    WITNESS_CONSUMER_ASLEEP = 1, /* consumer waits indefinitely: wake on every record */
};

struct witness_event_header {
    __u16 kind;            /* enum witness_event_kind */
    __u16 syscall;         /* enum witness_syscall */
    __u32 size;            /* bytes in this record, header included */
    __u64 timestamp_ns;    /* CLOCK_BOOTTIME */
    __u64 subjects;        /* bit i set: subject slot i witnessed this */
    __u64 cgroup_id;       /* cgroup v2 id of the task */
    __s64 result;          /* syscall return value (negative errno), exit status for EXIT */
    __u32 pid;             /* thread group id (user-space "pid") */
    __u32 tid;             /* thread id */
    __u32 ppid;            /* parent's thread group id */
    __u32 uid;
    __u32 gid;
    __u32 flags;           /* enum witness_event_flags */
    char comm[WITNESS_COMM_LEN];
};

/*
 * A relative path is reported with the directory it is relative to (the working
 * directory, or the directory of dirfd), resolved in the kernel when the event
 * happens: user space joins them. `dir_len` is 0 for an absolute path.
 */
struct witness_exec_event {
    struct witness_event_header header;
    __u32 filename_len;    /* bytes of filename at data[0] */
    __u32 args_len;        /* bytes of NUL-separated argv at data[filename_len] */
    __u32 dir_len;         /* bytes of the directory at data[filename_len + args_len] (the cwd on success) */
    __u32 loginuid;        /* audit login uid, (u32)-1 when unset */
    __u32 tty;             /* controlling terminal as /proc/PID/stat's tty_nr, 0 for none */
    __u32 vpid;            /* the pid in the process's own PID namespace (1: a container's init) */
    __u64 cap_effective;   /* effective capability set after exec */
    __u32 exe_len;         /* bytes of the executable's own path after the directory (0: a script, or unknown) */
    __u32 exe_dev;         /* the file the kernel runs (a script's interpreter): device and inode */
    __u64 exe_ino;
    __u32 stdio;           /* enum witness_stdio_type of fds 0, 1 and 2, a byte each (successful exec) */
    __u32 env_len;         /* bytes of NUL-separated environment after the executable's path (successful exec) */
    __u64 cap_permitted;   /* permitted and inheritable capability sets after exec */
    __u64 cap_inheritable;
    __u32 sid;             /* session id (host numbering) and process group id in the task's own PID namespace */
    __u32 vpgid;
    __u64 exe_ctime;       /* the run file's inode change time, ns since the epoch (0: unknown): a write after
                              the exec changes it, so a hash of changed content is refused, never reported */
    char data[];
};

/* What a standard descriptor is at exec (Falco's proc.stdin_type, ...). */
enum witness_stdio_type {
    WITNESS_STDIO_NONE = 0,      /* closed, or a kind Witness does not name */
    WITNESS_STDIO_FILE = 1,      /* a regular file or a device (a terminal) */
    WITNESS_STDIO_DIRECTORY = 2,
    WITNESS_STDIO_PIPE = 3,
    WITNESS_STDIO_IPV4 = 4,
    WITNESS_STDIO_IPV6 = 5,
    WITNESS_STDIO_UNIX = 6,
    WITNESS_STDIO_SOCKET = 7,    /* another socket family (netlink, ...) */
    WITNESS_STDIO_NAMED_FIFO = 0x80, /* with PIPE: a named FIFO (mkfifo), not an anonymous pipe */
};

/* A new process (or a thread made with namespace flags), or a failed attempt. */
struct witness_fork_event {
    struct witness_event_header header;
    __u32 child_pid;       /* thread group id of the child, 0 when the call failed */
    __u32 child_tid;
    __u64 clone_flags;     /* CLONE_* flags of clone/clone3; 0 for fork and vfork */
};

struct witness_open_event {
    struct witness_event_header header;
    __s32 dirfd;
    __u32 open_flags;
    __u32 mode;
    __u32 path_len;        /* bytes of path at path[0], as the process passed it */
    __u32 dir_len;         /* bytes of the directory at path[path_len] */
    __u32 resolved_len;    /* bytes at path[path_len + dir_len]: the opened file's own path */
    __u32 file_dev;        /* the opened file's device and inode (0 when none was opened) */
    __u32 reserved;
    __u64 file_ino;
    char path[];
};

struct witness_connect_event {
    struct witness_event_header header;
    __s32 fd;
    __u32 addr_len;        /* bytes of the sockaddr kept in addr */
    __u16 local_port;      /* host order; valid with WITNESS_FLAG_LOCAL_ADDR */
    __u16 protocol;        /* IPPROTO_TCP, IPPROTO_UDP, ... of the socket, 0 if unknown */
    __u16 local_family;    /* AF_INET or AF_INET6 of local_addr; valid with WITNESS_FLAG_LOCAL_ADDR */
    __u16 reserved2;
    __u8 local_addr[16];   /* IPv4 in the first 4 bytes, or IPv6 */
    __u8 addr[WITNESS_SOCKADDR_MAX];
};

/* The smallest record: sent only to wake a consumer that went to sleep. */
struct witness_wake_record {
    __u16 kind;
    __u16 reserved;
    __u32 size;
};

/* Any other witnessed syscall: its six arguments as numbers and up to two paths,
 * each with the directory it is relative to (see the shape layout above). */
struct witness_syscall_event {
    struct witness_event_header header;
    __s64 args[6];
    __u32 path_len;        /* data[0 .. path_len) */
    __u32 path2_len;       /* then the second path */
    __u32 dir_len;         /* then the first path's directory */
    __u32 dir2_len;        /* then the second path's directory */
    __u16 fd_family;       /* AF_* of the socket in the descriptor argument, 0 if none */
    __u16 fd_protocol;
    __u32 file_dev;        /* the descriptor argument's file: device and inode (0 if none) */
    __u64 file_ino;
    char data[];
};

/*
 * An armed window waits for its subject's cgroup: the name the cgroup will have (its
 * last path component: pod<uid>, cri-containerd-<id>.scope, ...) or its whole path
 * below the cgroup v2 root, as the cgroup_mkdir tracepoint gives it ("/a/b"),
 * NUL-padded. Longer ones cannot be armed.
 */
#define WITNESS_ARMED_NAME_MAX 256
struct witness_armed_name {
    char name[WITNESS_ARMED_NAME_MAX];
};

/* Shared between the agent (writes, through mmap) and every program (reads). */
struct witness_control {
    __u32 consumer_state;  /* enum witness_consumer_state */
    __u32 has_pid_subjects;
    __u32 has_cgroup_subjects;
    __u32 reserved;
    __u64 wake_watermark;  /* bytes pending that wake a lazy consumer */
    __u64 cgroup_generation; /* bumped when the cgroup subject set changes */
};

_Static_assert(sizeof(struct witness_event_header) == 80, "event header layout");
_Static_assert(sizeof(struct witness_exec_event) == 168, "exec event layout");
_Static_assert(sizeof(struct witness_syscall_event) == 160, "syscall event layout");
_Static_assert(sizeof(struct witness_fork_event) == 96, "fork event layout");
_Static_assert(sizeof(struct witness_open_event) == 120, "open event layout");
_Static_assert(sizeof(struct witness_connect_event) == 240, "connect event layout");
_Static_assert(sizeof(struct witness_control) == 32, "control layout");
_Static_assert(sizeof(struct witness_wake_record) == 8, "wake record layout");
_Static_assert(sizeof(struct witness_exec_event) + 3 * WITNESS_PATH_MAX + WITNESS_ARGS_MAX + WITNESS_ENV_MAX + 8
                   <= WITNESS_EVENT_MAX,
               "exec event fits the scratch buffer");
_Static_assert(sizeof(struct witness_open_event) + 3 * WITNESS_PATH_MAX <= WITNESS_EVENT_MAX,
               "open event fits the scratch buffer");
_Static_assert(sizeof(struct witness_syscall_event) + 4 * WITNESS_PATH_MAX <= WITNESS_EVENT_MAX,
               "syscall event fits the scratch buffer");

#endif /* WITNESS_EVENT_H */

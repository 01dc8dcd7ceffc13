/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Resolving directories in the kernel: the working directory of the current task,
 * or the directory an open descriptor refers to, as an absolute path seen from the
 * task's own root (a container's root, for a containerized task).
 *
 * Done at the event, not later from /proc: a short-lived process is gone by the
 * time user space looks, and `cd /etc && cat shadow` must still read /etc/shadow.
 */
#ifndef WITNESS_PATH_H
#define WITNESS_PATH_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "maps.h"
#include "fd.h"

#define WITNESS_NAME_MAX 255

static __always_inline struct mount *path__real_mount(struct vfsmount *vfsmnt)
{
    return (struct mount *)((void *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
}

/* State of one walk up the dentry tree, shared with the bpf_loop callback. */
struct path__walk {
    struct dentry *dentry;
    struct vfsmount *vfsmnt;
    struct mount *mnt;
    struct dentry *mnt_root;  /* of vfsmnt: read once per mount, not per component */
    struct dentry *root_dentry;
    struct vfsmount *root_mnt;
    struct witness_path_scratch *scratch;
    __u32 pos; /* the path gathered so far starts at scratch->bytes[pos] */
    int complete;
};

/* What a step needs of a dentry: d_parent and d_name (a qstr: hash_len, name) lie
 * next to each other in every kernel since 2.6, so one read fetches all three. */
struct path__dentry_fields {
    struct dentry *parent;
    __u64 hash_len;
    const unsigned char *name;
};

static __always_inline int path__read_dentry(struct dentry *dentry, struct path__dentry_fields *out)
{
    __u32 parent_at = bpf_core_field_offset(struct dentry, d_parent);
    if (bpf_core_field_offset(struct dentry, d_name) == parent_at + 8)
        return bpf_probe_read_kernel(out, sizeof(*out), (void *)dentry + parent_at);
    out->parent = BPF_CORE_READ(dentry, d_parent);
    out->hash_len = BPF_CORE_READ(dentry, d_name.hash_len);
    out->name = BPF_CORE_READ(dentry, d_name.name);
    return 0;
}

/* One component: prepend "/name", or cross to the mount point. 1 stops the loop. */
static long path__step(__u32 index, void *context)
{
    struct path__walk *walk = context;
    struct witness_path_scratch *scratch = walk->scratch;
    /* Plain locals: CO-RE reads below must not relocate fields of our own struct. */
    struct dentry *dentry = walk->dentry;
    struct vfsmount *vfsmnt = walk->vfsmnt;
    struct mount *mnt = walk->mnt;
    if (!scratch)
        return 1;
    if (dentry == walk->root_dentry && vfsmnt == walk->root_mnt) {
        walk->complete = 1;
        return 1;
    }
    struct dentry *mnt_root = walk->mnt_root;
    struct path__dentry_fields fields = {};
    if (path__read_dentry(dentry, &fields))
        return 1;
    struct dentry *parent = fields.parent;
    if (dentry == mnt_root || dentry == parent) {
        struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);
        if (dentry != mnt_root || mnt_parent == mnt) {
            /* The global root, or a detached tree; or a pseudo file (a memfd, a pipe)
             * whose dentry is its own parent: its name is all there is ("/memfd:x"). */
            walk->complete = 1;
            if (dentry == mnt_root)
                return 1;
        } else {
            walk->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
            walk->mnt = mnt_parent;
            struct vfsmount *parent_vfsmnt =
                (struct vfsmount *)((void *)mnt_parent + bpf_core_field_offset(struct mount, mnt));
            walk->vfsmnt = parent_vfsmnt;
            walk->mnt_root = BPF_CORE_READ(parent_vfsmnt, mnt_root);
            return 0;
        }
    }
    __u32 len = (__u32)(fields.hash_len >> 32) & WITNESS_NAME_MAX; /* hash_len: len in the high half */
    const unsigned char *name = fields.name;
    __u32 pos = walk->pos;
    if (len + 1 > pos || pos > WITNESS_PATH_MAX - 1)
        return 1; /* deeper than we keep: flagged by the caller */
    pos -= len;
    barrier_var(pos); /* keep the mask below: the verifier needs it, the compiler sees none */
    bpf_probe_read_kernel(&scratch->bytes[pos & (WITNESS_PATH_MAX - 1)], len, name);
    pos -= 1;
    barrier_var(pos);
    scratch->bytes[pos & (WITNESS_PATH_MAX - 1)] = '/';
    walk->pos = pos;
    walk->dentry = parent;
    return walk->complete ? 1 : 0; /* a pseudo file's one name ends the walk */
}

/*
 * Writes the absolute path of (dentry, vfsmnt) to `out` (at most WITNESS_PATH_MAX - 1
 * bytes, no NUL) and returns its length. Components are gathered backwards in a
 * per-CPU buffer, crossing mount points, until the task's root or the global root.
 * bpf_loop keeps the verifier's work to one pass over the step, whatever the caller.
 */
static __always_inline __u32 path__write(struct witness_event_header *header, char *out, struct dentry *dentry,
                                         struct vfsmount *vfsmnt, int to_namespace_root)
{
    __u32 zero = 0;
    struct witness_path_scratch *scratch = bpf_map_lookup_elem(&witness_path_scratch_map, &zero);
    if (!scratch || !dentry || !vfsmnt)
        return 0;
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct path__walk walk = {
        .dentry = dentry,
        .vfsmnt = vfsmnt,
        .mnt = path__real_mount(vfsmnt),
        .mnt_root = BPF_CORE_READ(vfsmnt, mnt_root),
        /* No root to stop at: walk to the root of the mount namespace. */
        .root_dentry = to_namespace_root ? 0 : BPF_CORE_READ(task, fs, root.dentry),
        .root_mnt = to_namespace_root ? 0 : BPF_CORE_READ(task, fs, root.mnt),
        .scratch = scratch,
        .pos = WITNESS_PATH_MAX - 1,
        .complete = 0,
    };
    bpf_loop(WITNESS_PATH_DEPTH, path__step, &walk, 0);
    if (!walk.complete)
        header->flags |= WITNESS_FLAG_DIR_TRUNCATED;

    __u32 pos = walk.pos;
    if (pos > WITNESS_PATH_MAX - 1)
        return 0;
    __u32 len = (WITNESS_PATH_MAX - 1) - pos;
    if (len == 0) {
        out[0] = '/';
        return 1;
    }
    len &= (WITNESS_PATH_MAX - 1);
    bpf_probe_read_kernel(out, len, &scratch->bytes[pos & (WITNESS_PATH_MAX - 1)]);
    return len;
}

/*
 * The directory a relative path given with `dirfd` is relative to (AT_FDCWD: the
 * working directory), or the path of the file open as descriptor `dirfd`, written
 * into the record being built (the per-CPU event scratch) at byte `offset`. Seen
 * from the task's root, or with `to_namespace_root` from the root of its mount
 * namespace: a chroot does not rename what the process opened.
 *
 * A global function: the verifier checks it once per program, not once per caller;
 * with a dozen callers inlined, loading took several times longer. It takes plain
 * numbers, as global functions must, and finds the record itself.
 */
__noinline int path__write_base_at(__u32 offset, int dirfd, __u64 file_address, int to_namespace_root)
{
    __u32 zero = 0;
    struct witness_scratch *record = bpf_map_lookup_elem(&witness_scratch_map, &zero);
    if (!record || offset > WITNESS_EVENT_MAX - WITNESS_PATH_MAX)
        return 0;
    struct witness_event_header *header = (struct witness_event_header *)record->bytes;
    char *out = (char *)record->bytes + offset;
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    if (dirfd == -100 /* AT_FDCWD */)
        return path__write(header, out, BPF_CORE_READ(task, fs, pwd.dentry), BPF_CORE_READ(task, fs, pwd.mnt),
                           to_namespace_root);
    struct file *file = file_address ? (struct file *)file_address : fd__file(dirfd);
    if (!file)
        return 0;
    return path__write(header, out, BPF_CORE_READ(file, f_path.dentry), BPF_CORE_READ(file, f_path.mnt),
                       to_namespace_root);
}

/* path__write_base_at for `out`, a place in the record that starts at `header`. */
static __always_inline __u32 path__write_from(struct witness_event_header *header, char *out, int dirfd,
                                              struct file *file, int to_namespace_root)
{
    long offset = (char *)out - (char *)header;
    if (offset < 0 || offset > WITNESS_EVENT_MAX - WITNESS_PATH_MAX)
        return 0;
    __u32 len = path__write_base_at(offset, dirfd, (__u64)file, to_namespace_root);
    barrier_var(len); /* the verifier knows nothing of a global function's result: bound it here */
    if (len >= WITNESS_PATH_MAX)
        return 0;
    return len & (WITNESS_PATH_MAX - 1);
}

/* The directory of a relative path, as the task sees it. */
static __always_inline __u32 path__write_base(struct witness_event_header *header, char *out, int dirfd)
{
    return path__write_from(header, out, dirfd, 0, 0);
}

/* The path of the file open as `fd`, from the root of the task's mount namespace. */
static __always_inline __u32 path__write_file(struct witness_event_header *header, char *out, int fd)
{
    return path__write_from(header, out, fd, 0, 1);
}

/* The path of `file` (an executable), from the root of the task's mount namespace. */
static __always_inline __u32 path__write_of(struct witness_event_header *header, char *out, struct file *file)
{
    return path__write_from(header, out, -1, file, 1);
}

#endif /* WITNESS_PATH_H */

// Package identity tells which container, Kubernetes pod and systemd unit
// a process belongs to, for the snapshot (snapshot.Container, Unit,
// Slice).
//
// Two sources, the better first:
//
//   - Runtime state files, read once per scan: runc's
//     <root>/<id>/state.json (roots /run/runc, /run/docker/runtime-runc/*,
//     /run/containerd/runc/*, /run/user/*/runc: plain runc, docker,
//     containerd, cri-o and podman all run runc this way) and crun's
//     <root>/<id>/status (/run/crun, /run/user/*/crun). A state counts
//     only when its init process is running: the process with its
//     init_process_pid has its init_process_start (field 22 of
//     /proc/PID/stat), so a pid reused by another program is not taken
//     for the container. Every process in the init's cgroup or below it,
//     and in another mount namespace than the host's, belongs to the
//     container. The state's labels (runc copies the OCI annotations
//     into them) give the engine (podman, cri-o, containerd's CRI) and
//     the Kubernetes pod and container names; docker's and podman's
//     names come from their own metadata (config.v2.json, containers.json).
//   - Cgroup path conventions, for every process (and alone where the
//     state files cannot be read: an unprivileged scan, a runtime
//     elsewhere): docker (/docker/ID, docker-ID.scope), containerd
//     (cri-containerd-ID.scope), cri-o (crio-ID.scope), podman
//     (libpod-ID.scope, /libpod_parent/libpod-ID), Kubernetes pods
//     (/kubepods/QOS/podUID/ID, kubepods-QOS-podUID.slice), lxc and
//     systemd-nspawn, on cgroup v1 and v2 and with either cgroup driver.
//     The outermost container in a path wins: a cgroup a container made
//     inside its own cannot give it another identity.
//
// The runtime's own processes that serve a container from the host —
// conmon, containerd shims, a process in the container's cgroup but in
// the host's mount namespace (runc before it enters the container), runc
// init waiting to start — are marked Helper: they hold the container's
// descriptors by design.
//
// The systemd unit and slice come from the name=systemd hierarchy (cgroup
// v1 and hybrid hosts) or the unified one: the deepest .service or .scope
// element, and the deepest .slice above it.
//
// The package reads the host's runtime directories and its proc mount;
// it does not scan processes (package procscan) and compares nothing.
package identity

package identity

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// State is what a runtime's state file says about one container.
type State struct {
	ID string
	// InitPID and InitStart are the container's init process: its pid
	// and its start time in clock ticks since boot (field 22 of
	// /proc/PID/stat).
	InitPID   int
	InitStart uint64
	// Annotations are the OCI annotations (runc keeps them, with
	// "bundle", as "key=value" labels).
	Annotations map[string]string
	// Bundle is the OCI bundle directory.
	Bundle string
}

// ErrStateSyntax is wrapped by the state parsers' errors.
var ErrStateSyntax = errors.New("bad runtime state file")

// ParseRuncState parses runc's state.json (libcontainer's State: the
// container id, its init's pid and start time, and the config's labels).
func ParseRuncState(data []byte) (State, error) {
	var raw struct {
		ID        string `json:"id"`
		InitPID   int    `json:"init_process_pid"`
		InitStart uint64 `json:"init_process_start"`
		Config    struct {
			Labels []string `json:"labels"`
		} `json:"config"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return State{}, fmt.Errorf("%w: %w", ErrStateSyntax, err)
	}
	if raw.ID == "" || raw.InitPID <= 0 {
		return State{}, fmt.Errorf("%w: no id or init pid", ErrStateSyntax)
	}
	st := State{ID: raw.ID, InitPID: raw.InitPID, InitStart: raw.InitStart, Annotations: map[string]string{}}
	for _, l := range raw.Config.Labels {
		k, v, _ := strings.Cut(l, "=")
		if k == "bundle" {
			st.Bundle = v
			continue
		}
		st.Annotations[k] = v
	}
	return st, nil
}

// ParseCrunStatus parses crun's status file (pid, process-start-time,
// bundle); id is the state directory's name. crun keeps the annotations in
// the config.json beside it (ParseAnnotations).
func ParseCrunStatus(id string, data []byte) (State, error) {
	var raw struct {
		PID       int    `json:"pid"`
		StartTime uint64 `json:"process-start-time"`
		Bundle    string `json:"bundle"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return State{}, fmt.Errorf("%w: %w", ErrStateSyntax, err)
	}
	if id == "" || raw.PID <= 0 {
		return State{}, fmt.Errorf("%w: no id or pid", ErrStateSyntax)
	}
	return State{ID: id, InitPID: raw.PID, InitStart: raw.StartTime, Bundle: raw.Bundle, Annotations: map[string]string{}}, nil
}

// ParseAnnotations reads the annotations of an OCI config.json.
func ParseAnnotations(data []byte) (map[string]string, error) {
	var raw struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStateSyntax, err)
	}
	return raw.Annotations, nil
}

// ParseDockerName reads the container name from docker's
// /var/lib/docker/containers/ID/config.v2.json ("/web" is "web").
func ParseDockerName(data []byte) (string, error) {
	var raw struct {
		Name string `json:"Name"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return "", fmt.Errorf("%w: %w", ErrStateSyntax, err)
	}
	return strings.TrimPrefix(raw.Name, "/"), nil
}

// ParseStorageNames reads containers/storage's containers.json (podman's
// and cri-o's): each container id's first name.
func ParseStorageNames(data []byte) (map[string]string, error) {
	var raw []struct {
		ID    string   `json:"id"`
		Names []string `json:"names"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStateSyntax, err)
	}
	out := make(map[string]string, len(raw))
	for _, c := range raw {
		if c.ID != "" && len(c.Names) > 0 {
			out[c.ID] = c.Names[0]
		}
	}
	return out, nil
}

// Kubernetes and engine annotations (cri-o writes the io.kubernetes.*
// ones, containerd's CRI plugin io.kubernetes.cri.*, podman
// io.container.manager).
const (
	annManager          = "io.container.manager"
	annCrioType         = "io.kubernetes.cri-o.ContainerType"
	annPodName          = "io.kubernetes.pod.name"
	annPodNamespace     = "io.kubernetes.pod.namespace"
	annPodUID           = "io.kubernetes.pod.uid"
	annContainerName    = "io.kubernetes.container.name"
	annCRIType          = "io.kubernetes.cri.container-type"
	annCRISandboxName   = "io.kubernetes.cri.sandbox-name"
	annCRISandboxNS     = "io.kubernetes.cri.sandbox-namespace"
	annCRISandboxUID    = "io.kubernetes.cri.sandbox-uid"
	annCRIContainerName = "io.kubernetes.cri.container-name"
)

// engine names who made a container from its state: the engine's own
// annotation, else the state directory's place (docker's and containerd's
// runc roots), else the low-level runtime itself.
func engine(st State, root, lowLevel string) string {
	a := st.Annotations
	switch {
	case a[annManager] == "libpod":
		return "podman"
	case a[annCrioType] != "" || (a[annPodName] != "" && a[annCRIType] == ""):
		return "cri-o"
	case a[annCRIType] != "":
		return "containerd"
	case strings.HasPrefix(root, "/run/docker/"):
		return "docker"
	case strings.HasPrefix(root, "/run/containerd/"):
		if strings.HasSuffix(root, "/moby") {
			return "docker"
		}
		return "containerd"
	}
	return lowLevel
}

// kubeNames fills the pod and container name from a state's annotations.
func kubeNames(st State) (pod *podNames, container string) {
	a := st.Annotations
	switch {
	case a[annPodName] != "":
		return &podNames{uid: a[annPodUID], namespace: a[annPodNamespace], name: a[annPodName]}, a[annContainerName]
	case a[annCRISandboxName] != "":
		return &podNames{uid: a[annCRISandboxUID], namespace: a[annCRISandboxNS], name: a[annCRISandboxName]}, a[annCRIContainerName]
	}
	return nil, ""
}

type podNames struct{ uid, namespace, name string }

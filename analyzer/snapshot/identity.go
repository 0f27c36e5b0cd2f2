package snapshot

import "strings"

// ShortID is the container id as people quote it: the first 12 characters
// of a long hexadecimal id (docker ps), any other id whole.
func (c *Container) ShortID() string {
	if len(c.ID) == 64 && strings.Trim(c.ID, "0123456789abcdef") == "" {
		return c.ID[:12]
	}
	return c.ID
}

// Label names the container for people: the runtime and the name (or
// short id), "docker web", "runc kg-leaky"; for a Kubernetes container
// "k8s NAMESPACE/POD/CONTAINER", or, without CRI metadata, "k8s pod UID"
// and the short id. It is raw snapshot text: escape it before printing.
func (c *Container) Label() string {
	name := c.Name
	if name == "" {
		name = c.ShortID()
	}
	if c.Pod == nil {
		return c.Runtime + " " + name
	}
	if c.Pod.Name != "" {
		return "k8s " + c.Pod.Namespace + "/" + c.Pod.Name + "/" + name
	}
	return "k8s pod " + c.Pod.UID + " " + name
}

// StableName names the container the same way on every host and every
// run where its runtime records a name: runtime and name, for Kubernetes
// namespace, and container name (pod names carry random suffixes); an id
// that is no random 64-hex id (runc's, lxc's) is a name too. It is the
// runtime alone when no name is known.
func (c *Container) StableName() string {
	switch {
	case c.Pod != nil && c.Name != "":
		return "k8s " + c.Pod.Namespace + "/" + c.Name
	case c.Pod != nil:
		return "k8s"
	case c.Name != "":
		return c.Runtime + " " + c.Name
	case c.ShortID() == c.ID:
		return c.Runtime + " " + c.ID // a chosen name (runc, lxc), not a random id
	}
	return c.Runtime
}

// Confined reports whether the process runs inside a container or in
// another mount namespace than the host's (Host.Namespaces; unknown in
// older snapshots): the processes the audit holds to a container's
// boundary. A runtime's helper never is, even while it sets a container
// up from inside its namespaces.
func (s *Snapshot) Confined(p *Process) bool {
	if p.Container != nil {
		return !p.Container.Helper
	}
	host := s.Host.Namespaces["mnt"]
	return host != 0 && p.Namespaces["mnt"] != 0 && p.Namespaces["mnt"] != host
}

// Place names where the process runs, for outputs that tag or group
// processes: its container's Label, "runtime of" a container for a
// runtime helper, else its systemd unit; "" for a host process in no
// unit. It is raw snapshot text: escape it before printing.
func (p *Process) Place() string {
	switch {
	case p.Container != nil && p.Container.Helper:
		return "runtime of " + p.Container.Label()
	case p.Container != nil:
		return p.Container.Label()
	}
	return p.Unit
}

// PlaceKey is a key that processes of one container, or of one systemd
// unit, share and no other process has: "container:RUNTIME:ID" or
// "unit:UNIT" ("" for none). A runtime helper is keyed by its unit: it
// runs on the host, outside the container it serves.
func (p *Process) PlaceKey() string {
	if p.Container != nil && !p.Container.Helper {
		return "container:" + p.Container.Runtime + ":" + p.Container.ID
	}
	if p.Unit != "" {
		return "unit:" + p.Unit
	}
	return ""
}

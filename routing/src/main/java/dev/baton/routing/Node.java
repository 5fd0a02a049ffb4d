package dev.baton.routing;

/**
 * A database server Baton may route to, by the name operators give it in the config.
 *
 * @param priority election order: lower values are preferred (used by topologies that elect)
 */
public record Node(String name, HostPort address, int priority) {
    public Node {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("node name is empty");
        }
        if (address != null && address.anyFreePort()) {
            throw new IllegalArgumentException("node " + name + " has port 0; a node needs the port its server listens on");
        }
    }

    @Override
    public String toString() {
        return name + " (" + address + ")";
    }
}

package dev.baton.routing;

/**
 * A TCP endpoint written {@code host:port}, as operators write it in the config. Port 0 is only meaningful where
 * Baton listens ({@link #parseListen}): the system then picks any free port.
 */
public record HostPort(String host, int port) {

    /** The port a listen address names to let the system pick any free port. */
    public static final int ANY_FREE_PORT = 0;

    public HostPort {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("host is empty");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is outside 0..65535");
        }
    }

    /**
     * Parses the address of a server Baton connects to, {@code host:port} or {@code [v6]:port}, port 1..65535.
     *
     * @throws IllegalArgumentException with a message that says what is wrong
     */
    public static HostPort parse(String text) {
        return parse(text, false);
    }

    /**
     * Parses an address Baton listens on: as {@link #parse}, but port 0 asks the system for any free port.
     *
     * @throws IllegalArgumentException with a message that says what is wrong
     */
    public static HostPort parseListen(String text) {
        return parse(text, true);
    }

    /** Whether this listen address leaves the port to the system. */
    public boolean anyFreePort() {
        return port == ANY_FREE_PORT;
    }

    private static HostPort parse(String text, boolean listen) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("address is empty (expected host:port)");
        }
        String s = text.trim();
        int colon = s.lastIndexOf(':');
        if (colon <= 0 || colon == s.length() - 1) {
            throw new IllegalArgumentException("'" + text + "' is not host:port");
        }
        String host = s.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.contains(":")) {
            throw new IllegalArgumentException("'" + text + "' is not host:port (write IPv6 addresses as [addr]:port)");
        }
        int port;
        try {
            port = Integer.parseInt(s.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + text + "' has no numeric port");
        }
        if (port == ANY_FREE_PORT && !listen) {
            throw new IllegalArgumentException("port 0 is outside 1..65535 (0, any free port, is only for listen and admin.listen)");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is outside 1..65535" + (listen ? " (or 0 for any free port)" : ""));
        }
        return new HostPort(host, port);
    }

    @Override
    public String toString() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
}

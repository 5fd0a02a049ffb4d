package dev.baton.routing;

/**
 * Whether Baton puts a PROXY protocol header in front of each of its connections to the servers
 * ({@code cluster.proxy-protocol}), and in which version, so a server that trusts Baton's address sees the real client.
 */
public enum ProxyProtocolVersion {
    /** No header: the servers see Baton's own address. */
    OFF("off"),
    /** The text header ({@code PROXY TCP4 ...\r\n}). */
    V1("v1"),
    /** The binary header. */
    V2("v2");

    private final String configName;

    ProxyProtocolVersion(String configName) {
        this.configName = configName;
    }

    public String configName() {
        return configName;
    }

    /**
     * The version a config names.
     *
     * @throws IllegalArgumentException naming the accepted values when {@code name} is not one
     */
    public static ProxyProtocolVersion byConfigName(String name) {
        for (ProxyProtocolVersion version : values()) {
            if (version.configName.equals(name)) {
                return version;
            }
        }
        throw new IllegalArgumentException("expected v1, v2 or off, got '" + name + "'");
    }
}

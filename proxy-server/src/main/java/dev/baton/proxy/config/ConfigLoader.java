package dev.baton.proxy.config;

import dev.baton.admin.api.Durations;
import dev.baton.routing.ClientQuota;
import dev.baton.routing.ClusterSpec;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.ProxyProtocolVersion;
import dev.baton.routing.ServerTls;
import dev.baton.routing.TopologyType;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Reads the YAML config and checks every key, so that a typo stops Baton at start with one line naming the file,
 * the key and the problem, rather than being silently ignored.
 */
public final class ConfigLoader {
    private static final Duration MAX_DURATION = Duration.ofHours(1);
    private static final Set<String> TOP_KEYS = Set.of("listen", "admin", "cluster", "timeouts", "io-threads", "instance-name",
            "transport", "quotas", "sessions", "proxy-protocol", "tls", "log-level");
    private static final Set<String> TLS_KEYS = Set.of("cert", "key", "ca", "require", "min-version");
    private static final Set<String> SESSIONS_KEYS = Set.of("move");
    private static final Set<String> PROXY_PROTOCOL_KEYS = Set.of("accept-from", "require");
    private static final Set<String> QUOTA_KEYS = Set.of("key", "per-client", "max-total", "clients", "idle-expiry", "wait");
    private static final Set<String> ADMIN_KEYS = Set.of("listen", "token", "token-env");
    private static final Set<String> CLUSTER_KEYS = Set.of("type", "nodes", "monitor", "failback", "connect-wait", "schema",
            "replication", "failover", "rejoin", "proxy-protocol", "tls");
    private static final Set<String> CLUSTER_TLS_KEYS = Set.of("mode", "ca", "cert", "key");
    private static final Set<String> MONITORED_ONLY_KEYS = Set.of("monitor", "failback", "connect-wait", "schema");
    private static final Set<String> REPLICATION_ONLY_KEYS = Set.of("replication", "failover", "rejoin");
    private static final Set<String> REPLICATION_KEYS = Set.of("user", "password", "password-env");
    private static final Set<String> MONITOR_KEYS = Set.of("user", "password", "password-env", "interval", "timeout", "fall", "rise",
            "record-max-age");
    private static final Set<String> NODE_KEYS = Set.of("name", "address", "priority");
    private static final Set<String> TIMEOUT_KEYS = Set.of("connect", "handshake", "close");

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ConfigLoader.class);

    private final String file;
    private final Consumer<String> warnings;

    private ConfigLoader(String file, Consumer<String> warnings) {
        this.file = file;
        this.warnings = warnings;
    }

    /** Reads the config at {@code path}; what it accepts but advises against is logged as a warning. */
    public static BatonConfig load(Path path) throws ConfigException {
        return load(path, line -> log.warn(line));
    }

    /**
     * Reads the config at {@code path}, handing each warning (a setting that works but that an operator should
     * reconsider, one line naming the file and key) to {@code warnings}.
     */
    public static BatonConfig load(Path path, Consumer<String> warnings) throws ConfigException {
        String text;
        try {
            text = Files.readString(path);
        } catch (NoSuchFileException e) {
            throw new ConfigException(path.toString(), null, "no such file");
        } catch (IOException e) {
            throw new ConfigException(path.toString(), null, "cannot read: " + e.getMessage());
        }
        return parse(path.toString(), text, warnings);
    }

    public static BatonConfig parse(String file, String yaml) throws ConfigException {
        return parse(file, yaml, line -> log.warn(line));
    }

    /** Reads config text; see {@link #load(Path, Consumer)} for the warnings. */
    public static BatonConfig parse(String file, String yaml, Consumer<String> warnings) throws ConfigException {
        return new ConfigLoader(file, warnings).read(yaml);
    }

    private BatonConfig read(String yaml) throws ConfigException {
        Object root;
        try {
            root = new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
        } catch (MarkedYAMLException e) {
            throw new ConfigException(file, null, "not valid YAML at line " + (e.getProblemMark().getLine() + 1)
                    + ": " + e.getProblem());
        } catch (YAMLException e) {
            throw new ConfigException(file, null, "not valid YAML: " + e.getMessage());
        }
        if (root == null) {
            throw new ConfigException(file, null, "file is empty; it needs at least a 'cluster' section");
        }
        Map<String, Object> top = map(root, "");
        checkKeys(top, TOP_KEYS, "");

        HostPort listen = listenAddress(top.get("listen"), "listen", BatonConfig.DEFAULT_LISTEN);
        HostPort adminListen = BatonConfig.DEFAULT_ADMIN_LISTEN;
        String adminToken = null;
        if (top.containsKey("admin")) {
            Map<String, Object> admin = map(top.get("admin"), "admin");
            checkKeys(admin, ADMIN_KEYS, "admin");
            adminListen = listenAddress(admin.get("listen"), "admin.listen", BatonConfig.DEFAULT_ADMIN_LISTEN);
            if (admin.containsKey("token") && admin.containsKey("token-env")) {
                throw new ConfigException(file, "admin.token-env", "give either token or token-env, not both");
            } else if (admin.containsKey("token-env")) {
                String variable = string(admin.get("token-env"), "admin.token-env", true);
                adminToken = System.getenv(variable);
                if (adminToken == null || adminToken.isBlank()) {
                    throw new ConfigException(file, "admin.token-env", "environment variable " + variable + " is not set");
                }
            } else if (admin.containsKey("token")) {
                adminToken = string(admin.get("token"), "admin.token", true);
            }
        }
        // A token read from a file or a variable often ends in a newline; the API compares tokens without it.
        adminToken = adminToken == null ? null : adminToken.strip();
        if (adminToken == null && !isLoopback(adminListen)) {
            throw new ConfigException(file, "admin.listen", adminListen + " is not a loopback address and no admin.token "
                    + "(or admin.token-env) is set; the admin API can switch the writer, so it needs a token off loopback");
        }
        if (adminListen.equals(listen) && !listen.anyFreePort()) {
            throw new ConfigException(file, "admin.listen", adminListen + " is also 'listen'; give them different ports");
        }

        if (!top.containsKey("cluster")) {
            throw new ConfigException(file, "cluster", "missing (it names the cluster type and its nodes)");
        }
        Map<String, Object> cluster = map(top.get("cluster"), "cluster");
        checkKeys(cluster, CLUSTER_KEYS, "cluster");
        TopologyType type;
        try {
            type = TopologyType.byConfigName(string(cluster.get("type"), "cluster.type", true));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(file, "cluster.type", e.getMessage());
        }
        List<Node> nodes = nodes(cluster.get("nodes"));
        String instanceName = top.containsKey("instance-name") ? string(top.get("instance-name"), "instance-name", true)
                : defaultInstanceName(listen);
        if (listen.anyFreePort() && !top.containsKey("instance-name") && type != TopologyType.SINGLE) {
            warnings.accept(file + ": instance-name: not set and listen port 0, so this Baton is named '" + instanceName
                    + "' like any other on this host with port 0; give each Baton its own instance-name");
        }
        ClusterSpec spec = clusterSpec(type, cluster, nodes, instanceName).withProxyProtocol(proxyProtocolOut(cluster));
        try {
            type.create(spec).close(); // the topology's own rules, such as 'single' taking one node
        } catch (IllegalArgumentException e) {
            throw new ConfigException(file, "cluster.nodes", e.getMessage());
        }

        Duration connect = BatonConfig.DEFAULT_CONNECT_TIMEOUT;
        Duration handshake = BatonConfig.DEFAULT_HANDSHAKE_TIMEOUT;
        Duration close = BatonConfig.DEFAULT_CLOSE_TIMEOUT;
        if (top.containsKey("timeouts")) {
            Map<String, Object> timeouts = map(top.get("timeouts"), "timeouts");
            checkKeys(timeouts, TIMEOUT_KEYS, "timeouts");
            connect = duration(timeouts.get("connect"), "timeouts.connect", connect);
            handshake = duration(timeouts.get("handshake"), "timeouts.handshake", handshake);
            close = duration(timeouts.get("close"), "timeouts.close", close);
        }
        int ioThreads = BatonConfig.defaultIoThreads();
        if (top.containsKey("io-threads")) {
            ioThreads = integer(top.get("io-threads"), "io-threads", 1, 256);
        }
        BatonConfig.TransportChoice transport = BatonConfig.TransportChoice.AUTO;
        if (top.containsKey("transport")) {
            String name = String.valueOf(top.get("transport"));
            try {
                transport = BatonConfig.TransportChoice.parse(name);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(file, "transport", e.getMessage());
            }
        }
        ClientQuota.Settings quotas = top.containsKey("quotas") ? quotas(top.get("quotas")) : ClientQuota.Settings.defaults();
        if (quotas.maxWait().compareTo(handshake) >= 0) {
            throw new ConfigException(file, "quotas.wait", quotas.maxWait().toMillis() + " ms is not shorter than "
                    + "timeouts.handshake (" + handshake.toMillis() + " ms), which bounds the whole login including the wait; "
                    + "lower quotas.wait or raise timeouts.handshake");
        }
        BatonConfig.Sessions sessions = top.containsKey("sessions") ? sessions(top.get("sessions"))
                : BatonConfig.Sessions.defaults();
        BatonConfig.ProxyProtocol proxyProtocol = top.containsKey("proxy-protocol") ? proxyProtocol(top.get("proxy-protocol"))
                : BatonConfig.ProxyProtocol.none();
        BatonConfig.ClientTls tls = top.containsKey("tls") ? tls(top.get("tls")) : null;
        BatonConfig.LogLevel logLevel = top.containsKey("log-level") ? logLevel(top.get("log-level")) : null;
        return new BatonConfig(file, listen, adminListen, type, spec, connect, handshake, close, ioThreads, transport,
                quotas, adminToken, sessions, proxyProtocol, tls, logLevel);
    }

    private BatonConfig.LogLevel logLevel(Object value) throws ConfigException {
        String name = string(value, "log-level", true);
        for (BatonConfig.LogLevel level : BatonConfig.LogLevel.values()) {
            if (level.configName().equalsIgnoreCase(name.strip())) {
                return level;
            }
        }
        throw new ConfigException(file, "log-level", "'" + name + "' is not one of "
                + java.util.Arrays.stream(BatonConfig.LogLevel.values()).map(BatonConfig.LogLevel::configName).toList());
    }

    /** The {@code tls} section; its files are read and checked against each other now, so a config that loads serves. */
    private BatonConfig.ClientTls tls(Object value) throws ConfigException {
        Map<String, Object> settings = map(value, "tls");
        checkKeys(settings, TLS_KEYS, "tls");
        java.nio.file.Path cert = java.nio.file.Path.of(string(settings.get("cert"), "tls.cert", true));
        java.nio.file.Path key = java.nio.file.Path.of(string(settings.get("key"), "tls.key", true));
        String ca = string(settings.get("ca"), "tls.ca", false);
        boolean require = false;
        if (settings.containsKey("require")) {
            if (!(settings.get("require") instanceof Boolean b)) {
                throw new ConfigException(file, "tls.require", "expected true or false, got " + describe(settings.get("require")));
            }
            require = b;
        }
        String minVersion = settings.containsKey("min-version") ? string(settings.get("min-version"), "tls.min-version", true)
                : BatonConfig.ClientTls.DEFAULT_MIN_VERSION;
        BatonConfig.ClientTls tls;
        try {
            tls = new BatonConfig.ClientTls(cert, key, ca == null ? null : java.nio.file.Path.of(ca), require, minVersion);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(file, "tls.min-version", e.getMessage());
        }
        try {
            TlsFiles.read(tls);
        } catch (IllegalArgumentException e) {
            String message = e.getMessage();
            String at = message.startsWith("key ") ? "tls.key" : message.startsWith("ca ") ? "tls.ca" : "tls.cert";
            throw new ConfigException(file, at, message);
        }
        return tls;
    }

    private BatonConfig.ProxyProtocol proxyProtocol(Object value) throws ConfigException {
        Map<String, Object> settings = map(value, "proxy-protocol");
        checkKeys(settings, PROXY_PROTOCOL_KEYS, "proxy-protocol");
        if (!(settings.get("accept-from") instanceof List<?> networks) || networks.isEmpty()) {
            throw new ConfigException(file, "proxy-protocol.accept-from", "expected a list of the load balancers' addresses "
                    + "or networks (like [10.0.0.0/24]), got " + describe(settings.get("accept-from")));
        }
        List<String> acceptFrom = new ArrayList<>();
        for (Object network : networks) {
            String written = string(network, "proxy-protocol.accept-from", true);
            try {
                BatonConfig.ProxyProtocol.rule(written);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(file, "proxy-protocol.accept-from", e.getMessage());
            }
            acceptFrom.add(written);
        }
        boolean require = true;
        if (settings.containsKey("require")) {
            if (!(settings.get("require") instanceof Boolean b)) {
                throw new ConfigException(file, "proxy-protocol.require", "expected true or false, got "
                        + describe(settings.get("require")));
            }
            require = b;
        }
        return new BatonConfig.ProxyProtocol(acceptFrom, require);
    }

    /**
     * {@code cluster.proxy-protocol}: the PROXY protocol header Baton sends the servers. YAML reads a bare {@code off}
     * as a boolean, so false is read as off.
     */
    private ProxyProtocolVersion proxyProtocolOut(Map<String, Object> cluster) throws ConfigException {
        if (!cluster.containsKey("proxy-protocol")) {
            return ProxyProtocolVersion.OFF;
        }
        Object value = cluster.get("proxy-protocol");
        if (Boolean.FALSE.equals(value)) {
            return ProxyProtocolVersion.OFF;
        }
        try {
            if (value instanceof String name) {
                return ProxyProtocolVersion.byConfigName(name);
            }
            throw new IllegalArgumentException("expected v1, v2 or off, got " + describe(value));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(file, "cluster.proxy-protocol", e.getMessage() + " (the PROXY protocol header "
                    + "Baton sends the servers)");
        }
    }

    private BatonConfig.Sessions sessions(Object value) throws ConfigException {
        Map<String, Object> sessions = map(value, "sessions");
        checkKeys(sessions, SESSIONS_KEYS, "sessions");
        boolean move = BatonConfig.Sessions.defaults().move();
        if (sessions.containsKey("move")) {
            if (!(sessions.get("move") instanceof Boolean b)) {
                throw new ConfigException(file, "sessions.move", "expected true or false, got " + describe(sessions.get("move")));
            }
            move = b;
        }
        return new BatonConfig.Sessions(move);
    }

    private ClientQuota.Settings quotas(Object value) throws ConfigException {
        ClientQuota.Settings d = ClientQuota.Settings.defaults();
        Map<String, Object> quotas = map(value, "quotas");
        checkKeys(quotas, QUOTA_KEYS, "quotas");
        ClientQuota.Key key = d.key();
        if (quotas.containsKey("key")) {
            try {
                key = ClientQuota.Key.byConfigName(string(quotas.get("key"), "quotas.key", true));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(file, "quotas.key", e.getMessage());
            }
        }
        int perClient = quotas.containsKey("per-client") ? integer(quotas.get("per-client"), "quotas.per-client", 1, 100_000) : d.perClient();
        int maxTotal = quotas.containsKey("max-total") ? integer(quotas.get("max-total"), "quotas.max-total", 1, 1_000_000) : d.maxTotal();
        java.util.Map<String, Integer> overrides = new java.util.LinkedHashMap<>();
        if (quotas.containsKey("clients")) {
            Map<String, Object> clients = map(quotas.get("clients"), "quotas.clients");
            Map<String, String> written = new java.util.HashMap<>(); // normalised key -> as written
            for (Map.Entry<String, Object> e : clients.entrySet()) {
                String where = "quotas.clients." + e.getKey();
                String client = clientKey(key, e.getKey(), where);
                String before = written.putIfAbsent(client, e.getKey());
                if (before != null) {
                    throw new ConfigException(file, where, "names the same client as '" + before + "'");
                }
                overrides.put(client, integer(e.getValue(), where, 0, 100_000));
            }
        }
        Duration idle = duration(quotas.get("idle-expiry"), "quotas.idle-expiry", d.idleExpiry());
        Duration wait = zeroOrDuration(quotas.get("wait"), "quotas.wait", d.maxWait());
        return new ClientQuota.Settings(key, perClient, maxTotal, overrides, idle, wait);
    }

    /** An override's key in the form sessions compute it: addresses normalised as {@link ClientAddress} writes them. */
    private String clientKey(ClientQuota.Key key, String written, String where) throws ConfigException {
        try {
            return switch (key) {
                case USER -> written;
                case CLIENT_ADDRESS -> ClientAddress.parse(written);
                case USER_AND_ADDRESS -> {
                    int at = written.lastIndexOf('@');
                    if (at < 0) {
                        throw new IllegalArgumentException("'" + written + "' is not user@address (quotas.key is "
                                + "user-and-address)");
                    }
                    yield written.substring(0, at + 1) + ClientAddress.parse(written.substring(at + 1));
                }
            };
        } catch (IllegalArgumentException e) {
            throw new ConfigException(file, where, e.getMessage());
        }
    }

    private ClusterSpec clusterSpec(TopologyType type, Map<String, Object> cluster, List<Node> nodes, String instanceName)
            throws ConfigException {
        if (type != TopologyType.PRIMARY_REPLICA) {
            for (String key : REPLICATION_ONLY_KEYS) {
                if (cluster.containsKey(key)) {
                    throw new ConfigException(file, "cluster." + key, "applies to cluster type 'primary-replica' only");
                }
            }
        }
        if (type == TopologyType.SINGLE) {
            for (String key : MONITORED_ONLY_KEYS) {
                if (cluster.containsKey(key) && !key.equals("monitor")) {
                    throw new ConfigException(file, "cluster." + key,
                            "applies to cluster types 'galera' and 'primary-replica' only");
                }
            }
            // Optional here: without it the server is not checked, as before monitoring existed for 'single'.
            if (cluster.get("monitor") instanceof Map<?, ?> section && section.containsKey("record-max-age")) {
                throw new ConfigException(file, "cluster.monitor.record-max-age",
                        "applies to cluster types 'galera' and 'primary-replica' only (a single server has no writer record)");
            }
            ClusterSpec.MonitorSettings monitor = cluster.containsKey("monitor") ? monitor(cluster, type) : null;
            return new ClusterSpec(nodes, monitor, false, Duration.ZERO, "baton", instanceName, null,
                    ProxyProtocolVersion.OFF, tls(cluster)); // the PROXY protocol is set by the caller
        }
        ClusterSpec.ReplicationSettings replication = null;
        if (type == TopologyType.PRIMARY_REPLICA) {
            replication = replication(cluster, nodes);
        }
        ClusterSpec.MonitorSettings monitor = monitor(cluster, type);
        boolean failback = false;
        if (cluster.containsKey("failback")) {
            if (!(cluster.get("failback") instanceof Boolean b)) {
                throw new ConfigException(file, "cluster.failback", "expected true or false, got " + describe(cluster.get("failback")));
            }
            failback = b;
        }
        if (failback && type == TopologyType.PRIMARY_REPLICA) {
            throw new ConfigException(file, "cluster.failback", "true is not supported for type 'primary-replica': a "
                    + "primary is moved back only by an operator, with 'baton switchover NODE'; set failback: false");
        }
        Duration connectWait = duration(cluster.get("connect-wait"), "cluster.connect-wait", Duration.ofSeconds(5));
        String schema = cluster.containsKey("schema") ? string(cluster.get("schema"), "cluster.schema", true) : "baton";
        if (!schema.matches("[A-Za-z0-9_]{1,64}")) {
            throw new ConfigException(file, "cluster.schema", "'" + schema + "' may only use letters, digits and '_'");
        }
        return new ClusterSpec(nodes, monitor, failback, connectWait, schema, instanceName, replication,
                ProxyProtocolVersion.OFF, tls(cluster)); // the PROXY protocol is set by the caller
    }

    /** The {@code cluster.tls} section: TLS to the servers, for client sessions and the monitor alike. */
    private ServerTls tls(Map<String, Object> cluster) throws ConfigException {
        if (!cluster.containsKey("tls")) {
            return ServerTls.DISABLED;
        }
        Map<String, Object> section = map(cluster.get("tls"), "cluster.tls");
        checkKeys(section, CLUSTER_TLS_KEYS, "cluster.tls");
        ServerTls.Mode mode;
        try {
            Object written = section.get("mode");
            if (written == null || Boolean.FALSE.equals(written)) { // YAML reads a bare 'off' or 'no' as false
                mode = ServerTls.Mode.DISABLED;
            } else {
                mode = ServerTls.Mode.byConfigName(written instanceof Boolean ? "true" : string(written, "cluster.tls.mode", true));
            }
        } catch (IllegalArgumentException e) {
            throw new ConfigException(file, "cluster.tls.mode", e.getMessage());
        }
        Path ca = readableFile(section, "ca");
        Path cert = readableFile(section, "cert");
        Path key = readableFile(section, "key");
        if (mode.verifiesChain() && ca == null) {
            throw new ConfigException(file, "cluster.tls.ca", "missing (mode " + mode.configName()
                    + " checks the servers' certificates against this CA file, PEM)");
        }
        if (ca != null && !mode.verifiesChain()) {
            warnings.accept(file + ": cluster.tls.ca: not used with mode " + mode.configName()
                    + ", which does not check certificates; use verify-ca or verify-identity to check them");
        }
        if (cert != null && key == null) {
            throw new ConfigException(file, "cluster.tls.key", "missing (cluster.tls.cert needs its private key, PEM)");
        }
        if (key != null && cert == null) {
            throw new ConfigException(file, "cluster.tls.cert", "missing (cluster.tls.key needs its certificate, PEM)");
        }
        ServerTls tls = new ServerTls(mode, ca, cert, key);
        try {
            dev.baton.proxy.ServerTlsContext.of(tls); // the PEM files are read now, not at the first connection
        } catch (javax.net.ssl.SSLException | IllegalArgumentException e) {
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            throw new ConfigException(file, "cluster.tls", "cannot use the certificate files: " + root.getMessage());
        }
        return tls;
    }

    private Path readableFile(Map<String, Object> section, String key) throws ConfigException {
        if (!section.containsKey(key)) {
            return null;
        }
        Path path = Path.of(string(section.get(key), "cluster.tls." + key, true));
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw new ConfigException(file, "cluster.tls." + key, path + " is not a readable file");
        }
        return path;
    }

    /** The replication section and the failover and rejoin modes of a primary/replica cluster. */
    private ClusterSpec.ReplicationSettings replication(Map<String, Object> cluster, List<Node> nodes) throws ConfigException {
        if (nodes.size() < 2) {
            throw new ConfigException(file, "cluster.nodes", "cluster type 'primary-replica' needs at least 2 nodes "
                    + "(3 recommended), got " + nodes.size());
        }
        if (nodes.size() % 2 == 0) {
            warnings.accept(file + ": cluster.nodes: " + nodes.size() + " nodes; a majority of " + nodes.size() + " is "
                    + (nodes.size() / 2 + 1) + ", so " + (nodes.size() == 2 ? "losing either node stops failover"
                    : "they survive no more failures than " + (nodes.size() - 1) + " nodes") + "; use an odd count, such as 3");
        }
        if (!cluster.containsKey("replication")) {
            throw new ConfigException(file, "cluster.replication", "missing (type 'primary-replica' needs the user and "
                    + "password Baton gives replicas when it points them at a new primary: {user, password or password-env})");
        }
        Map<String, Object> section = map(cluster.get("replication"), "cluster.replication");
        checkKeys(section, REPLICATION_KEYS, "cluster.replication");
        String user = string(section.get("user"), "cluster.replication.user", true);
        String password = password(section, "cluster.replication");
        boolean failoverAuto = mode(cluster, "failover", "auto", "manual", true);
        boolean rejoinAuto = mode(cluster, "rejoin", "auto", "off", true);
        return new ClusterSpec.ReplicationSettings(user, password, failoverAuto, rejoinAuto);
    }

    /**
     * A key that takes one of two words; true for {@code yes}. YAML reads a bare {@code off} (or {@code on}) as a
     * boolean, so false is read as {@code no} when that word is "off".
     */
    private boolean mode(Map<String, Object> cluster, String key, String yes, String no, boolean fallback)
            throws ConfigException {
        Object value = cluster.get(key);
        if (value == null && !cluster.containsKey(key)) {
            return fallback;
        }
        if (yes.equals(value)) {
            return true;
        }
        if (no.equals(value) || no.equals("off") && Boolean.FALSE.equals(value)) {
            return false;
        }
        throw new ConfigException(file, "cluster." + key, "expected " + yes + " or " + no + ", got " + describe(value));
    }

    /** {@code password} or {@code password-env} of a section; an empty password is allowed only when written. */
    private String password(Map<String, Object> section, String where) throws ConfigException {
        if (section.containsKey("password") && section.containsKey("password-env")) {
            throw new ConfigException(file, where + ".password-env", "give either password or password-env, not both");
        } else if (section.containsKey("password-env")) {
            String variable = string(section.get("password-env"), where + ".password-env", true);
            String password = System.getenv(variable);
            if (password == null) {
                throw new ConfigException(file, where + ".password-env", "environment variable " + variable + " is not set");
            }
            return password;
        } else if (section.containsKey("password")) {
            Object value = section.get("password");
            return value == null ? "" : String.valueOf(value);
        }
        throw new ConfigException(file, where + ".password", "missing (or name an environment variable in password-env)");
    }

    private ClusterSpec.MonitorSettings monitor(Map<String, Object> cluster, TopologyType type) throws ConfigException {
        if (!cluster.containsKey("monitor")) {
            throw new ConfigException(file, "cluster.monitor", "missing (type '" + type.configName()
                    + "' needs at least monitor.user and a password)");
        }
        Map<String, Object> monitor = map(cluster.get("monitor"), "cluster.monitor");
        checkKeys(monitor, MONITOR_KEYS, "cluster.monitor");
        String user = string(monitor.get("user"), "cluster.monitor.user", true);
        String password = password(monitor, "cluster.monitor");
        Duration interval = duration(monitor.get("interval"), "cluster.monitor.interval", Duration.ofMillis(500));
        Duration timeout = duration(monitor.get("timeout"), "cluster.monitor.timeout", Duration.ofSeconds(1));
        int fall = monitor.containsKey("fall") ? integer(monitor.get("fall"), "cluster.monitor.fall", 1, 100) : 3;
        int rise = monitor.containsKey("rise") ? integer(monitor.get("rise"), "cluster.monitor.rise", 1, 100) : 2;
        Duration recordMaxAge = duration(monitor.get("record-max-age"), "cluster.monitor.record-max-age",
                ClusterSpec.MonitorSettings.defaultRecordMaxAge(interval, timeout, fall));
        return new ClusterSpec.MonitorSettings(user, password, interval, timeout, fall, rise, recordMaxAge);
    }

    /**
     * Whether the admin listener would bind a loopback address: the host is resolved as the listener resolves it,
     * so a name such as {@code 127.example.com} counts by where it points, not by how it looks. A name that does
     * not resolve is not loopback.
     */
    private static boolean isLoopback(HostPort address) {
        try {
            return java.net.InetAddress.getByName(address.host()).isLoopbackAddress();
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    private static String defaultInstanceName(HostPort listen) {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "localhost";
        }
        return host + ":" + listen.port();
    }

    private List<Node> nodes(Object value) throws ConfigException {
        if (!(value instanceof List<?> list) || list.isEmpty()) {
            throw new ConfigException(file, "cluster.nodes", "needs a list of at least one node, each {name, address}");
        }
        List<Node> nodes = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Set<HostPort> addresses = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            String key = "cluster.nodes[" + i + "]";
            Map<String, Object> node = map(list.get(i), key);
            checkKeys(node, NODE_KEYS, key);
            String name = string(node.get("name"), key + ".name", true);
            if (!name.matches("[A-Za-z0-9_.-]{1,64}")) {
                throw new ConfigException(file, key + ".name", "'" + name + "' may only use letters, digits, '_', '.', '-'");
            }
            if (!names.add(name)) {
                throw new ConfigException(file, key + ".name", "'" + name + "' names two nodes");
            }
            if (node.get("address") == null) {
                throw new ConfigException(file, key + ".address", "missing (expected host:port)");
            }
            HostPort address = address(node.get("address"), key + ".address", null);
            if (!addresses.add(address)) {
                throw new ConfigException(file, key + ".address", address + " is the address of another node");
            }
            int priority = node.containsKey("priority") ? integer(node.get("priority"), key + ".priority", 0, 1_000_000) : i + 1;
            nodes.add(new Node(name, address, priority));
        }
        return nodes;
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> map(Object value, String key) throws ConfigException {
        if (!(value instanceof Map<?, ?> m)) {
            throw new ConfigException(file, key, "expected a mapping of keys, got " + describe(value));
        }
        for (Object k : m.keySet()) {
            if (!(k instanceof String)) {
                throw new ConfigException(file, key, "key " + k + " is not a string");
            }
        }
        return (Map<String, Object>) m;
    }

    private void checkKeys(Map<String, Object> map, Set<String> known, String prefix) throws ConfigException {
        for (String k : map.keySet()) {
            if (!known.contains(k)) {
                String full = prefix.isEmpty() ? k : prefix + "." + k;
                throw new ConfigException(file, full, "unknown key (known here: " + String.join(", ", known.stream().sorted().toList()) + ")");
            }
        }
    }

    private String string(Object value, String key, boolean required) throws ConfigException {
        if (value == null) {
            if (required) {
                throw new ConfigException(file, key, "missing");
            }
            return null;
        }
        if (!(value instanceof String s) || s.isBlank()) {
            throw new ConfigException(file, key, "expected a non-empty string, got " + describe(value));
        }
        return s;
    }

    private HostPort address(Object value, String key, HostPort fallback) throws ConfigException {
        return address(value, key, fallback, HostPort::parse);
    }

    /** An address Baton listens on, where port 0 lets the system pick a free port. */
    private HostPort listenAddress(Object value, String key, HostPort fallback) throws ConfigException {
        return address(value, key, fallback, HostPort::parseListen);
    }

    private HostPort address(Object value, String key, HostPort fallback,
                             java.util.function.Function<String, HostPort> parser) throws ConfigException {
        if (value == null) {
            return fallback;
        }
        try {
            return parser.apply(String.valueOf(value));
        } catch (IllegalArgumentException e) {
            throw new ConfigException(file, key, "bad address: " + e.getMessage());
        }
    }

    /** A duration where zero means "not at all" (written 0s, 0ms ...). */
    private Duration zeroOrDuration(Object value, String key, Duration fallback) throws ConfigException {
        if (value == null) {
            return fallback;
        }
        try {
            return Durations.parseZeroAllowed(String.valueOf(value), MAX_DURATION);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(file, key, e.getMessage());
        }
    }

    private Duration duration(Object value, String key, Duration fallback) throws ConfigException {
        if (value == null) {
            return fallback;
        }
        try {
            return Durations.parse(String.valueOf(value), MAX_DURATION);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(file, key, e.getMessage());
        }
    }

    private int integer(Object value, String key, int min, int max) throws ConfigException {
        if (!(value instanceof Integer i)) {
            throw new ConfigException(file, key, "expected a whole number, got " + describe(value));
        }
        if (i < min || i > max) {
            throw new ConfigException(file, key, i + " is outside " + min + ".." + max);
        }
        return i;
    }

    private static String describe(Object value) {
        if (value == null) {
            return "nothing";
        }
        if (value instanceof Map) {
            return "a mapping";
        }
        if (value instanceof List) {
            return "a list";
        }
        return "'" + value + "'";
    }
}

package dev.baton.proxy.config;

import dev.baton.routing.ClientQuota;
import dev.baton.routing.ClusterSpec;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.TopologyType;

import java.time.Duration;
import java.util.List;

/**
 * Everything Baton is told at start, validated. Built by {@link ConfigLoader} from YAML; every key is documented
 * in docs/configuration.md.
 *
 * @param source            where the config came from, for messages
 * @param listen            where MySQL clients connect
 * @param adminListen       the admin HTTP listener
 * @param clusterType       which topology runs the cluster
 * @param cluster           the cluster's servers and, for monitored types, how to watch and elect
 * @param connectTimeout    how long a new client waits for the writer's TCP connect and greeting
 * @param handshakeTimeout  how long a client has to finish authentication
 * @param closeTimeout      how long an ending session may take to flush what it still owes a peer before its
 *                          connection is closed anyway
 * @param ioThreads         Netty event loop threads
 * @param transport         the socket transport of the event loops ({@code transport}: auto, io_uring, epoll, nio)
 * @param quotas            connection budgets per client and in all
 * @param adminToken        bearer token the admin API requires, or null (allowed only on a loopback admin.listen)
 * @param sessions          what Baton does with open client sessions when the writer changes
 * @param proxyProtocol     which peers (load balancers) may send a PROXY protocol header naming the real client
 * @param tls               TLS Baton offers its clients, or null: clients connect without TLS
 * @param logLevel          the level of Baton's own loggers ({@code log-level}), or null: as the logging setup says
 *                          ({@code BATON_LOG_LEVEL}, else INFO)
 */
public record BatonConfig(String source, HostPort listen, HostPort adminListen, TopologyType clusterType,
                          ClusterSpec cluster, Duration connectTimeout, Duration handshakeTimeout, Duration closeTimeout,
                          int ioThreads, TransportChoice transport,
                          ClientQuota.Settings quotas, String adminToken, Sessions sessions, ProxyProtocol proxyProtocol,
                          ClientTls tls, LogLevel logLevel) {

    /** The levels {@code log-level} takes, as logback names them. */
    public enum LogLevel {
        TRACE, DEBUG, INFO, WARN, ERROR;

        /** The config's spelling: lower case. */
        public String configName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public static final HostPort DEFAULT_LISTEN = new HostPort("127.0.0.1", 6033);
    public static final HostPort DEFAULT_ADMIN_LISTEN = new HostPort("127.0.0.1", 6034);
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(3);
    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(5);

    /**
     * What Baton does with open client sessions when the writer changes.
     *
     * @param move whether an idle session is moved to the new writer (Baton logs in again as its user, which needs the
     *             monitor user to read the stored password hashes) instead of being closed
     */
    public record Sessions(boolean move) {
        /** Sessions move: the default. */
        public static Sessions defaults() {
            return new Sessions(true);
        }
    }

    /**
     * Which peers may put a PROXY protocol header (v1 or v2) in front of a client's connection, naming the client's
     * own address for quotas, metrics and logs.
     *
     * @param acceptFrom the networks allowed to send one, as written in the config ({@code 10.0.0.0/24},
     *                   {@code 127.0.0.2}); a header from anywhere else is refused
     * @param require    whether a peer in those networks must send one (a connection without it is refused);
     *                   otherwise Baton waits {@link #HEADER_WAIT} for it before greeting the client
     */
    public record ProxyProtocol(List<String> acceptFrom, boolean require) {
        /** How long Baton waits for a header a listed peer need not send. */
        public static final Duration HEADER_WAIT = Duration.ofMillis(200);

        public ProxyProtocol {
            acceptFrom = List.copyOf(acceptFrom);
            for (String network : acceptFrom) {
                rule(network); // validated here, so a config that loads never fails later
            }
        }

        /** No PROXY protocol: every header is refused. */
        public static ProxyProtocol none() {
            return new ProxyProtocol(List.of(), true);
        }

        /** Whether {@code peer} may send a header. */
        public boolean trusts(java.net.InetSocketAddress peer) {
            for (String network : acceptFrom) {
                if (rule(network).matches(peer)) {
                    return true;
                }
            }
            return false;
        }

        /**
         * A network as an IP filter rule: an address with an optional prefix length.
         *
         * @throws IllegalArgumentException naming what is wrong with it
         */
        public static io.netty.handler.ipfilter.IpSubnetFilterRule rule(String network) {
            int slash = network.indexOf('/');
            String address = ClientAddress.parse(slash < 0 ? network : network.substring(0, slash));
            int max = address.indexOf(':') >= 0 ? 128 : 32;
            int prefix = max;
            if (slash >= 0) {
                try {
                    prefix = Integer.parseInt(network.substring(slash + 1).trim());
                } catch (NumberFormatException e) {
                    prefix = -1;
                }
                if (prefix < 0 || prefix > max) {
                    throw new IllegalArgumentException("'" + network + "' has a prefix length outside 0.." + max);
                }
            }
            return new io.netty.handler.ipfilter.IpSubnetFilterRule(address, prefix,
                    io.netty.handler.ipfilter.IpFilterRuleType.ACCEPT);
        }
    }

    /** The same config with PROXY protocol settings. */
    public BatonConfig withProxyProtocol(ProxyProtocol settings) {
        return new BatonConfig(source, listen, adminListen, clusterType, cluster, connectTimeout, handshakeTimeout, closeTimeout,
                ioThreads, transport, quotas, adminToken, sessions, settings, tls, logLevel);
    }

    /** The same config with TLS for clients ({@code null}: none). */
    public BatonConfig withTls(ClientTls settings) {
        return new BatonConfig(source, listen, adminListen, clusterType, cluster, connectTimeout, handshakeTimeout, closeTimeout,
                ioThreads, transport, quotas, adminToken, sessions, proxyProtocol, settings, logLevel);
    }

    /**
     * TLS between clients and Baton: Baton offers it in its greeting and terminates it; Baton's own connections to
     * the servers are not affected.
     *
     * @param cert       PEM certificate (chain) Baton shows clients
     * @param key        its PEM private key, PKCS#8 or PKCS#1
     * @param ca         PEM CA(s) client certificates are verified against, or null: no client certificates are asked for
     * @param require    whether a client that does not ask for TLS is refused
     * @param minVersion the oldest TLS version accepted, {@code TLSv1.2} or {@code TLSv1.3}
     */
    public record ClientTls(java.nio.file.Path cert, java.nio.file.Path key, java.nio.file.Path ca, boolean require,
                            String minVersion) {
        public static final String DEFAULT_MIN_VERSION = "TLSv1.2";
        public static final List<String> VERSIONS = List.of("TLSv1.2", "TLSv1.3");

        public ClientTls {
            if (!VERSIONS.contains(minVersion)) {
                throw new IllegalArgumentException("'" + minVersion + "' is not one of " + VERSIONS);
            }
        }

        /** The protocols Baton accepts: {@link #minVersion} and later. */
        public String[] protocols() {
            return VERSIONS.subList(VERSIONS.indexOf(minVersion), VERSIONS.size()).toArray(String[]::new);
        }
    }

    /** The cluster's servers, in config order. */
    public List<Node> nodes() {
        return cluster.nodes();
    }

    /** A config for one server with every default, for tests and embedding. */
    public static BatonConfig single(HostPort listen, HostPort adminListen, HostPort server) {
        return new BatonConfig("(built in code)", listen, adminListen, TopologyType.SINGLE,
                ClusterSpec.ofNodes(List.of(new Node("db1", server, 1))), DEFAULT_CONNECT_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT,
                DEFAULT_CLOSE_TIMEOUT, defaultIoThreads(), TransportChoice.AUTO, ClientQuota.Settings.defaults(), null, Sessions.defaults(), ProxyProtocol.none(), null, null);
    }

    public BatonConfig withTimeouts(Duration connect, Duration handshake) {
        return new BatonConfig(source, listen, adminListen, clusterType, cluster, connect, handshake, closeTimeout, ioThreads, transport,
                quotas, adminToken, sessions, proxyProtocol, tls, logLevel);
    }

    /** The same config with another close deadline. */
    public BatonConfig withCloseTimeout(Duration close) {
        return new BatonConfig(source, listen, adminListen, clusterType, cluster, connectTimeout, handshakeTimeout, close,
                ioThreads, transport, quotas, adminToken, sessions, proxyProtocol, tls, logLevel);
    }

    /** The same config in front of another cluster. */
    public BatonConfig withCluster(TopologyType type, ClusterSpec spec) {
        return new BatonConfig(source, listen, adminListen, type, spec, connectTimeout, handshakeTimeout, closeTimeout, ioThreads, transport,
                quotas, adminToken, sessions, proxyProtocol, tls, logLevel);
    }

    /** The same config with an admin API token. */
    public BatonConfig withAdminToken(String token) {
        return new BatonConfig(source, listen, adminListen, clusterType, cluster, connectTimeout, handshakeTimeout, closeTimeout,
                ioThreads, transport, quotas, token, sessions, proxyProtocol, tls, logLevel);
    }

    /** The same config with other connection budgets. */
    public BatonConfig withQuotas(ClientQuota.Settings settings) {
        return new BatonConfig(source, listen, adminListen, clusterType, cluster, connectTimeout, handshakeTimeout, closeTimeout,
                ioThreads, transport, settings, adminToken, sessions, proxyProtocol, tls, logLevel);
    }

    /** The same config with another number of event-loop threads. */
    public BatonConfig withIoThreads(int threads) {
        return new BatonConfig(source, listen, adminListen, clusterType, cluster, connectTimeout, handshakeTimeout, closeTimeout,
                threads, transport, quotas, adminToken, sessions, proxyProtocol, tls, logLevel);
    }

    /** The same config with other session settings. */
    public BatonConfig withSessions(Sessions settings) {
        return new BatonConfig(source, listen, adminListen, clusterType, cluster, connectTimeout, handshakeTimeout, closeTimeout,
                ioThreads, transport, quotas, adminToken, settings, proxyProtocol, tls, logLevel);
    }

    /** {@code transport}: the socket transport of the event loops. */
    public enum TransportChoice {
        AUTO, IO_URING, EPOLL, NIO;

        /**
         * What {@code auto} tries, best first. Epoll before io_uring: io_uring measured no cheaper per query
         * (docs/benchmarks.md, "Towards the proxy targets"), and epoll is the older, more widely run path.
         */
        public static final List<TransportChoice> AUTO_ORDER = List.of(EPOLL, IO_URING, NIO);

        /** The name in the config file: {@code auto}, {@code io_uring}, {@code epoll}, {@code nio}. */
        public String configName() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        /** The choice a config name stands for. */
        public static TransportChoice parse(String name) {
            for (TransportChoice choice : values()) {
                if (choice.configName().equals(name)) {
                    return choice;
                }
            }
            throw new IllegalArgumentException("'" + name + "' is not one of auto, io_uring, epoll, nio");
        }
    }

    /** The same config with another transport. */
    public BatonConfig withTransport(TransportChoice choice) {
        return new BatonConfig(source, listen, adminListen, clusterType, cluster, connectTimeout, handshakeTimeout, closeTimeout,
                ioThreads, choice, quotas, adminToken, sessions, proxyProtocol, tls, logLevel);
    }

    /** The same config with another level for Baton's own loggers ({@code null}: as the logging setup says). */
    public BatonConfig withLogLevel(LogLevel level) {
        return new BatonConfig(source, listen, adminListen, clusterType, cluster, connectTimeout, handshakeTimeout, closeTimeout,
                ioThreads, transport, quotas, adminToken, sessions, proxyProtocol, tls, level);
    }

    /**
     * Half the CPUs the JVM sees, at least one: Baton shares its machine with the clients or the database, and on
     * two shared cores one event loop carried a query for 20-24 µs of CPU against 26-30 µs with two
     * (docs/benchmarks.md, "Towards the proxy targets").
     */
    public static int defaultIoThreads() {
        return defaultIoThreads(Runtime.getRuntime().availableProcessors());
    }

    static int defaultIoThreads(int cpus) {
        return Math.max(1, cpus / 2);
    }
}

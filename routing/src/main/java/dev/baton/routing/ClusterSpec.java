package dev.baton.routing;

import java.time.Duration;
import java.util.List;

/**
 * What a topology is told at start: its nodes and, for monitored topologies, how to watch them and how to
 * choose. Built from the config by the proxy; validated there.
 *
 * @param nodes        the cluster's servers, in config order
 * @param monitor      how nodes are checked; null for topologies that check nothing
 * @param failback     whether a recovered node with a better priority takes the writer back by itself
 * @param connectWait  how long a new client may wait for a writer during an election
 * @param schema       the schema in the cluster where the shared writer record lives
 * @param instanceName this Baton instance's name, recorded with every writer change it makes
 * @param replication  how a primary/replica cluster is repaired (null for other kinds)
 * @param proxyProtocol the PROXY protocol header Baton sends first on every connection to a node, clients' and the
 *                      monitor's alike ({@code cluster.proxy-protocol}); never null
 * @param tls          how Baton's connections to the servers use TLS: client sessions, moved sessions and the
 *                     monitor (whose settings are given the same, so both always agree)
 */
public record ClusterSpec(List<Node> nodes, MonitorSettings monitor, boolean failback, Duration connectWait,
                          String schema, String instanceName, ReplicationSettings replication,
                          ProxyProtocolVersion proxyProtocol, ServerTls tls) {

    public ClusterSpec {
        nodes = List.copyOf(nodes);
        proxyProtocol = proxyProtocol == null ? ProxyProtocolVersion.OFF : proxyProtocol;
        tls = tls == null ? ServerTls.DISABLED : tls;
        monitor = monitor == null ? null : monitor.withTls(tls);
    }

    /** A spec whose connections carry no PROXY protocol header, and whose TLS is the monitor's (disabled without one). */
    public ClusterSpec(List<Node> nodes, MonitorSettings monitor, boolean failback, Duration connectWait,
                       String schema, String instanceName, ReplicationSettings replication) {
        this(nodes, monitor, failback, connectWait, schema, instanceName, replication, ProxyProtocolVersion.OFF,
                monitor == null ? ServerTls.DISABLED : monitor.tls());
    }

    /** This spec with {@code tls} for every connection to the nodes, the monitor's included. */
    public ClusterSpec withTls(ServerTls tls) {
        return new ClusterSpec(nodes, monitor, failback, connectWait, schema, instanceName, replication, proxyProtocol, tls);
    }

    /** This spec with connections to the nodes led by a PROXY protocol header of {@code version}. */
    public ClusterSpec withProxyProtocol(ProxyProtocolVersion version) {
        return new ClusterSpec(nodes, monitor, failback, connectWait, schema, instanceName, replication, version, tls);
    }

    /** A spec with no replication settings (every kind but primary/replica). */
    public ClusterSpec(List<Node> nodes, MonitorSettings monitor, boolean failback, Duration connectWait,
                       String schema, String instanceName) {
        this(nodes, monitor, failback, connectWait, schema, instanceName, null);
    }

    /**
     * What Baton may do to a primary/replica cluster by itself.
     *
     * @param user         the replication user the replicas are given when Baton points them at a new primary
     * @param password     its password
     * @param failoverAuto true: a lost primary is replaced by the most advanced replica; false: Baton refuses
     *                     clients and waits for an operator's switchover
     * @param rejoinAuto   true: a node that is neither the primary nor replicating from it (a returning old primary)
     *                     is made a replica of the primary unless it holds transactions the primary lacks
     */
    public record ReplicationSettings(String user, String password, boolean failoverAuto, boolean rejoinAuto) {
        @Override
        public String toString() {
            return "ReplicationSettings[user=" + user + ", failover=" + (failoverAuto ? "auto" : "manual")
                    + ", rejoin=" + (rejoinAuto ? "auto" : "off") + "]"; // never the password
        }
    }

    /** A spec for topologies that need nothing but their nodes. */
    public static ClusterSpec ofNodes(List<Node> nodes) {
        return new ClusterSpec(nodes, null, false, Duration.ZERO, "baton", "baton");
    }

    /**
     * How nodes are checked.
     *
     * @param user         the monitor's MySQL user
     * @param password     its password
     * @param interval     time between the end of one check of a node and the start of the next
     * @param timeout      connect and read timeout of one check
     * @param fall         consecutive failed checks before a node counts as down
     * @param rise         consecutive good checks before a down node counts as up again
     * @param recordMaxAge how long an instance may go without a good read of the writer record before it stops
     *                     following the record it read last and refuses clients; by default
     *                     {@code fall x (interval + timeout)}, as long as it takes a node to count as down
     * @param tls          how the monitor's connections use TLS: the cluster's setting
     */
    public record MonitorSettings(String user, String password, Duration interval, Duration timeout, int fall, int rise,
                                  Duration recordMaxAge, ServerTls tls) {

        public MonitorSettings {
            tls = tls == null ? ServerTls.DISABLED : tls;
        }

        /** Settings without TLS. */
        public MonitorSettings(String user, String password, Duration interval, Duration timeout, int fall, int rise,
                               Duration recordMaxAge) {
            this(user, password, interval, timeout, fall, rise, recordMaxAge, ServerTls.DISABLED);
        }

        /** Settings with the default record age limit, without TLS. */
        public MonitorSettings(String user, String password, Duration interval, Duration timeout, int fall, int rise) {
            this(user, password, interval, timeout, fall, rise, defaultRecordMaxAge(interval, timeout, fall));
        }

        public MonitorSettings withTls(ServerTls settings) {
            return settings.equals(tls) ? this
                    : new MonitorSettings(user, password, interval, timeout, fall, rise, recordMaxAge, settings);
        }

        public static Duration defaultRecordMaxAge(Duration interval, Duration timeout, int fall) {
            return interval.plus(timeout).multipliedBy(fall);
        }

        /** The longest time between two completed checks of a node that answers or times out: interval + timeout. */
        public Duration checkCycle() {
            return interval.plus(timeout);
        }

        /**
         * How long after the last change in the cluster (a node failing or coming back, a view change, a record
         * that could not be read) every instance that routes at all routes to the same node:
         * {@code (fall + rise) x (interval + timeout) + recordMaxAge}.
         */
        public Duration settleTime() {
            return checkCycle().multipliedBy(fall + rise).plus(recordMaxAge);
        }

        @Override
        public String toString() {
            return "MonitorSettings[user=" + user + ", interval=" + interval + ", timeout=" + timeout + ", fall=" + fall
                    + ", rise=" + rise + ", recordMaxAge=" + recordMaxAge + ", tls=" + tls.mode().configName() + "]"; // never the password
        }
    }
}

package dev.baton.proxy;

import dev.baton.protocol.CommandType;
import dev.baton.routing.ClientQuota;
import dev.baton.routing.ClusterEvent;
import dev.baton.routing.Node;
import dev.baton.routing.NodeReport;
import dev.baton.routing.ReplicationReport;
import dev.baton.routing.WriterChange;
import dev.baton.routing.WriterChoice;
import dev.baton.routing.replication.ReplicationNodeState.Role;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;

/**
 * Baton's Prometheus metrics (names in docs/metrics.md). Counters on the data path are LongAdders bumped per read
 * or per command, never per byte; per-client and per-node series are refreshed at scrape time from the quota's
 * and topology's own books, and a client's series disappear when the quota forgets the client.
 */
final class BatonMetrics {
    private final BatonProxy proxy;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final LongAdder bytesFromClients = new LongAdder();
    private final LongAdder bytesFromServers = new LongAdder();
    private final LongAdder[] commands = new LongAdder[CommandType.values().length];
    private final Map<String, List<Meter>> clientMeters = new HashMap<>();
    private final Set<String> nodeMetersRegistered = new HashSet<>();
    private final Timer failover;
    private final Timer quotaWait;
    private final Counter sessionsMoved;

    BatonMetrics(BatonProxy proxy) {
        this.proxy = proxy;
        for (CommandType type : CommandType.values()) {
            LongAdder adder = new LongAdder();
            commands[type.ordinal()] = adder;
            FunctionCounter.builder("baton.commands", adder, LongAdder::sum).tag("command", type.name().toLowerCase())
                    .description("Commands clients sent, by type").register(registry);
        }
        FunctionCounter.builder("baton.client.bytes", bytesFromClients, LongAdder::sum).baseUnit("bytes")
                .description("Bytes received from clients and forwarded to the writer").register(registry);
        FunctionCounter.builder("baton.server.bytes", bytesFromServers, LongAdder::sum).baseUnit("bytes")
                .description("Bytes received from the writer and forwarded to clients").register(registry);
        Gauge.builder("baton.sessions", proxy, BatonProxy::activeSessions)
                .description("Client connections open now, in any phase").register(registry);
        if (proxy.clientTls() != null) {
            Gauge.builder("baton.tls.certificate.expiry", proxy.clientTls(), ClientTls::secondsToExpiry).baseUnit("seconds")
                    .description("Seconds until the certificate Baton shows clients expires (negative: expired)")
                    .register(registry);
        }
        failover = Timer.builder("baton.failover").publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(100)).maximumExpectedValue(Duration.ofMinutes(2))
                .description("Time from the writer going down to a new writer, per failover").register(registry);
        quotaWait = Timer.builder("baton.quota.wait")
                .serviceLevelObjectives(Duration.ofMillis(10), Duration.ofMillis(100), Duration.ofMillis(500),
                        Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(10),
                        Duration.ofSeconds(30))
                .description("Time clients over their quota waited before they got a slot (quotas.wait)").register(registry);
        FunctionCounter.builder("baton.quota.wait.timeouts", proxy.quota(), ClientQuota::waitTimeouts)
                .description("Clients refused because their quota wait (quotas.wait) ran out").register(registry);
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        for (Node node : proxy.topology().nodes()) {
            Gauge.builder("baton.writer", () -> proxy.topology().currentWriter() instanceof WriterChoice.Writer w
                            && w.node().equals(node) ? 1 : 0)
                    .tag("node", node.name()).description("1 for the node new sessions go to, else 0").register(registry);
        }
        // Every reason exists from the start at 0, so the first change is an increase Prometheus can see.
        for (String reason : List.of("initial", "failover", "failback", "no-writer", "restored", "other")) {
            writerChanges(reason);
        }
        sessionsMoved = Counter.builder("baton.sessions.moved")
                .description("Sessions moved to a new writer without their client noticing").register(registry);
        for (String reason : NOT_MOVED_REASONS) {
            notMoved(reason);
        }
        proxy.topology().onWriterChange(this::writerChanged);
    }

    /** Reasons a session was not moved to a new writer, each a label of baton_sessions_not_moved_total. */
    static final List<String> NOT_MOVED_REASONS = List.of("transaction", "in_flight", "no_writer", "link_lost", "login", "untracked",
            "auth_plugin", "credentials", "lookup_failed", "connect_failed", "capabilities", "login_refused",
            "replay_failed", "state_change", "prepared_statement", "user_lock", "table_lock", "xa", "state_unread",
            "tracking_off", "tracking_changed", "not_replayable", "user_variable", "long_data", "cursor",
            "statement_schema", "statement_ids", "statement_replay", "failed");

    long sessionsMoved() {
        return (long) sessionsMoved.count();
    }

    /** Sessions not moved so far, by reason (only reasons that occurred). */
    Map<String, Long> sessionsNotMoved() {
        Map<String, Long> out = new java.util.TreeMap<>();
        for (String reason : NOT_MOVED_REASONS) {
            long n = (long) notMoved(reason).count();
            if (n > 0) {
                out.put(reason, n);
            }
        }
        return out;
    }

    void sessionMoved() {
        sessionsMoved.increment();
    }

    void sessionNotMoved(String reason) {
        notMoved(reason).increment();
    }

    private Counter notMoved(String reason) {
        return Counter.builder("baton.sessions.not.moved").tag("reason", reason)
                .description("Sessions on an old writer that could not be moved to the new one and were closed, by reason")
                .register(registry);
    }

    private Counter writerChanges(String reason) {
        return Counter.builder("baton.writer.changes").tag("reason", reason)
                .description("Changes of where new sessions go, by kind of reason").register(registry);
    }

    /** A client over its quota got a slot after waiting this long. */
    void quotaWaited(Duration waited) {
        quotaWait.record(waited);
    }

    void clientBytes(int n) {
        bytesFromClients.add(n);
    }

    void serverBytes(int n) {
        bytesFromServers.add(n);
    }

    void command(CommandType type) {
        commands[type.ordinal()].increment();
    }

    private void writerChanged(WriterChange change) {
        String reason = reasonCategory(change);
        writerChanges(reason).increment();
        if (reason.equals("failover")) {
            lostAt(change).ifPresent(at -> failover.record(Duration.between(at, change.at())));
        }
    }

    /** When the previous writer was last seen going down, from the topology's audit trail. */
    private java.util.Optional<Instant> lostAt(WriterChange change) {
        String r = change.reason();
        String previous = r.startsWith("writer ") ? r.substring(7, r.indexOf(' ', 7)) : null; // "writer db1 lost: ..."
        List<ClusterEvent> events = proxy.topology().events();
        for (int i = events.size() - 1; i >= 0; i--) {
            ClusterEvent e = events.get(i);
            if (e.kind().equals("node") && e.description().contains(" is down") && (previous == null || e.subject().equals(previous))) {
                return java.util.Optional.of(e.at());
            }
        }
        return java.util.Optional.empty();
    }

    private static String reasonCategory(WriterChange change) {
        if (!(change.current() instanceof WriterChoice.Writer)) {
            return "no-writer";
        }
        String r = change.reason();
        if (r.startsWith("failback")) {
            return "failback";
        }
        if (r.contains(" lost: ")) {
            return "failover";
        }
        if (r.startsWith("no writer recorded yet")) {
            return "initial";
        }
        return change.previous() instanceof WriterChoice.NoWriter ? "restored" : "other";
    }

    /** The Prometheus text for one scrape. */
    synchronized String scrape() {
        refreshClients();
        refreshNodes();
        String body = registry.scrape();
        // A gauge may not end in _total in Micrometer's naming, but the documented name of the all-clients
        // connection count is baton_connections_total; the text format itself allows it.
        return body + "# HELP baton_connections_total Connections held now by all clients together\n"
                + "# TYPE baton_connections_total gauge\n"
                + "baton_connections_total " + proxy.quota().total() + "\n";
    }

    private void refreshClients() {
        Set<String> seen = new HashSet<>();
        ClientQuota quota = proxy.quota();
        for (ClientQuota.ClientUsage u : quota.usage()) {
            seen.add(u.client());
            clientMeters.computeIfAbsent(u.client(), client -> List.of(
                    Gauge.builder("baton.client.connections", quota, q -> q.usageOf(client).connections())
                            .tag("client", client).description("Connections a client holds now").register(registry),
                    Gauge.builder("baton.client.connection.limit", quota, q -> q.limitFor(client))
                            .tag("client", client).description("Connections a client may hold").register(registry),
                    FunctionCounter.builder("baton.client.connections.rejected", quota, q -> q.usageOf(client).rejected())
                            .tag("client", client).description("Connections refused because the client was over its quota")
                            .register(registry),
                    Gauge.builder("baton.quota.waiting.clients", quota, q -> q.waitingFor(client))
                            .tag("client", client).description("Connections waiting now for one of the client's slots")
                            .register(registry)));
        }
        clientMeters.entrySet().removeIf(e -> {
            if (seen.contains(e.getKey())) {
                return false;
            }
            e.getValue().forEach(registry::remove);
            return true;
        });
    }

    private void refreshNodes() {
        for (NodeReport report : proxy.topology().nodeReports()) {
            if (nodeMetersRegistered.add(report.node())) {
                String node = report.node();
                Gauge.builder("baton.node.up", () -> find(node).up() ? 1 : 0).tag("node", node)
                        .description("1 if the node may be the writer, else 0").register(registry);
                if (dev.baton.routing.TopologyType.GALERA.configName().equals(proxy.topology().type())) {
                    Gauge.builder("baton.node.flow.control.paused", () -> find(node).flowControlPaused()).tag("node", node)
                            .description("wsrep_flow_control_paused: fraction of time replication was paused by flow control")
                            .register(registry);
                    Gauge.builder("baton.node.recv.queue", () -> find(node).localRecvQueue()).tag("node", node)
                            .description("wsrep_local_recv_queue: write sets waiting to be applied").register(registry);
                } else if (dev.baton.routing.TopologyType.PRIMARY_REPLICA.configName().equals(proxy.topology().type())) {
                    registerReplication(node);
                }
            }
        }
    }

    /**
     * A primary/replica node's series: its lag (NaN when unknown: on the primary, with the SQL thread stopped or
     * the node unreachable, so an alert on "lag above N" stays quiet and a graph shows a gap rather than a false 0),
     * its role as one 0/1 series per role, and whether semi-sync is in effect for it.
     */
    private void registerReplication(String node) {
        Gauge.builder("baton.node.replication.lag", () -> {
                    ReplicationReport r = find(node).replication();
                    return r == null || r.lagSeconds() == null ? Double.NaN : r.lagSeconds();
                }).tag("node", node).baseUnit("seconds")
                .description("Seconds_Behind_Master of the node's replication; NaN when unknown or not a replica")
                .register(registry);
        for (Role role : Role.values()) {
            String name = role.name().toLowerCase();
            Gauge.builder("baton.node.role", () -> {
                        ReplicationReport r = find(node).replication();
                        return r != null && r.role() == role ? 1 : 0;
                    }).tag("node", node).tag("role", name)
                    .description("1 for the node's current role (primary, replica, unknown), 0 for the others")
                    .register(registry);
        }
        Gauge.builder("baton.node.semi.sync.active", () -> {
                    ReplicationReport r = find(node).replication();
                    return r != null && r.semiSyncActive() ? 1 : 0;
                }).tag("node", node)
                .description("1 if semi-sync is in effect for the node in its role: a primary waits for an "
                        + "acknowledgement, a replica acknowledges; else 0").register(registry);
    }

    private NodeReport find(String node) {
        return proxy.topology().nodeReports().stream().filter(r -> r.node().equals(node)).findFirst()
                .orElse(new NodeReport(node, false, "not monitored", 0, 0, 0, Map.of(), null));
    }
}

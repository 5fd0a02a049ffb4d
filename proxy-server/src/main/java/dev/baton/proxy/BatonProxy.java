package dev.baton.proxy;

import dev.baton.admin.api.ReloadReport;
import dev.baton.admin.api.SwitchoverReport;
import dev.baton.proxy.config.BatonConfig;
import dev.baton.proxy.config.ConfigChanges;
import dev.baton.proxy.move.AccountHashes;
import dev.baton.proxy.config.ConfigException;
import dev.baton.routing.ClientQuota;
import dev.baton.routing.ClusterTopology;
import dev.baton.routing.HostPort;
import dev.baton.routing.Node;
import dev.baton.routing.WriterChange;
import dev.baton.routing.WriterChoice;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.resolver.AddressResolverGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A running Baton: the MySQL listener, the admin listener and the cluster topology. {@link #start} either returns
 * a proxy that accepts clients or throws a {@link ConfigException} naming what could not be bound.
 */
public final class BatonProxy implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(BatonProxy.class);
    /** Per-channel outbound buffer bounds: above the high mark the other side stops being read. */
    static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(256 * 1024, 1024 * 1024);

    /** Replaced whole by a reload; every reader takes it once per use, so it sees one config, old or new. */
    private volatile BatonConfig config;
    private final ClusterTopology topology;
    private final ClientQuota quota;
    private final BatonMetrics metrics;
    private final Transport transport;
    private final EventLoopGroup acceptGroup;
    private final EventLoopGroup ioGroup;
    private final AddressResolverGroup<? extends SocketAddress> resolver;
    private final ServerGreetings greetings = new ServerGreetings();
    private final ChannelGroup clients = new DefaultChannelGroup("baton-clients", GlobalEventExecutor.INSTANCE);
    private final AtomicInteger activeSessions = new AtomicInteger();
    /** Oldest first, so every fan-out visits sessions in the order they arrived. */
    private final java.util.Set<ClientSession> sessions =
            new java.util.concurrent.ConcurrentSkipListSet<>(java.util.Comparator.comparingLong(ClientSession::arrival));
    private final AtomicLong sessionsOpened = new AtomicLong();
    private final SessionIds sessionIds = new SessionIds(new java.security.SecureRandom());
    private final long startedAt = System.currentTimeMillis();
    private Channel listener;
    private Channel admin;
    private AdminServer adminServer;

    /** Reads stored password hashes to move sessions; null when sessions.move is off or no monitor user is configured. */
    private final AccountHashes accountHashes;

    /** TLS offered to clients; null when the config has no tls section. */
    private final ClientTls clientTls;
    /** TLS to the servers (cluster.tls), for client sessions and moved sessions. */
    private final ServerTlsContext serverTls;

    private BatonProxy(BatonConfig config, ClusterTopology topology, AddressResolverGroup<? extends SocketAddress> resolver,
                       ClientTls clientTls) throws ConfigException {
        this.config = config;
        this.clientTls = clientTls;
        try {
            this.transport = Transport.of(config.transport());
        } catch (Transport.UnavailableException e) {
            throw new ConfigException(config.source(), "transport", e.getMessage());
        }
        try {
            this.serverTls = ServerTlsContext.of(config.cluster().tls());
        } catch (javax.net.ssl.SSLException e) {
            throw new ConfigException(config.source(), "cluster.tls", "cannot use the certificate files: " + e.getMessage());
        }
        this.resolver = resolver;
        this.topology = topology;
        this.quota = new ClientQuota(config.quotas());
        // A single server has no other writer to move sessions to.
        this.accountHashes = config.sessions().move() && config.cluster().monitor() != null
                && config.clusterType() != dev.baton.routing.TopologyType.SINGLE
                ? new AccountHashes(dev.baton.routing.core.MonitorConnector.of(config.cluster()), config.cluster().monitor().user())
                : null;
        this.metrics = new BatonMetrics(this);
        this.acceptGroup = transport.newGroup(1);
        this.ioGroup = transport.newGroup(config.ioThreads());
        topology.onWriterChange(this::writerChanged);
        topology.onNodeChecked(() -> checkWriterCapacity(topology.currentWriter()));
    }

    /** Baton's TLS to the database servers. */
    ServerTlsContext serverTls() {
        return serverTls;
    }

    /** Drains this instance's sessions when a planned switchover's hand-over appears in the writer record. */
    private final java.util.concurrent.ExecutorService drains = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "baton-drain");
        t.setDaemon(true);
        return t;
    });

    /** While true, new clients wait (a planned switchover is draining) instead of connecting to a writer. */
    boolean holding() {
        return topology.currentWriter() instanceof WriterChoice.Writer w && w.handingOver();
    }

    /** Sessions whose backend link leads anywhere but {@code node} (or not yet anywhere in particular). */
    java.util.List<ClientSession> sessionsNotBoundTo(Node node) {
        return sessions.stream().filter(s -> s.boundTo() != null && !s.boundTo().equals(node)).toList();
    }

    /** Connections one Baton's monitor may hold on a node at once: a check and a writer-record read or write. */
    static final int MONITOR_CONNECTIONS = 2;

    private volatile String capacityWarning;

    /**
     * The warning when the writer's max_connections is below what Baton may open on it (quotas.max-total plus its
     * monitor's connections), or null. Checked on every writer change and, for a topology whose writer never changes
     * ({@code single}), after every check of its node; logged when it appears or its text changes.
     */
    public String capacityWarning() {
        return capacityWarning;
    }

    private void checkWriterCapacity(WriterChoice choice) {
        if (!(choice instanceof WriterChoice.Writer w)) {
            return;
        }
        long max = topology.nodeReports().stream().filter(r -> r.node().equals(w.node().name()))
                .mapToLong(dev.baton.routing.NodeReport::maxConnections).findFirst().orElse(0);
        if (max <= 0) {
            return; // not known: the topology reads no server variables
        }
        int needed = config.quotas().maxTotal() + MONITOR_CONNECTIONS;
        if (max < needed) {
            String warning = "writer " + w.node().name() + " has max_connections=" + max + ", below quotas.max-total "
                    + config.quotas().maxTotal() + " plus " + MONITOR_CONNECTIONS + " monitor connections: raise "
                    + "max_connections to at least " + needed + " or lower quotas.max-total";
            if (!warning.equals(capacityWarning)) {
                log.warn(warning);
            }
            capacityWarning = warning;
        } else {
            capacityWarning = null;
        }
    }

    /**
     * Closes every session bound to a node that is no longer the writer (failover must not leave two writers). One
     * session's failure is logged and counted and never keeps the others on the old writer.
     */
    void writerChanged(WriterChange change) {
        try {
            checkWriterCapacity(change.current());
        } catch (RuntimeException e) {
            log.warn("cannot check the new writer's max_connections: {}", e.toString(), e);
        }
        if (change.current() instanceof WriterChoice.Writer w && w.handingOver()) {
            // A planned switchover, started here or by another instance: sessions may finish their transactions.
            markMoves();
            drains.execute(() -> Switchover.drain(this, w));
            return;
        }
        if (change.current() instanceof WriterChoice.Writer w && movesSessions()) {
            drains.execute(() -> recordMoves(w.node().name()));
        }
        int closing = 0;
        int failed = 0;
        RuntimeException firstFailure = null;
        for (ClientSession session : sessions) {
            try {
                Node bound = session.boundTo();
                if (bound != null && !(change.current() instanceof WriterChoice.Writer w && w.node().equals(bound))) {
                    closing++;
                }
                session.writerChanged(change.current());
            } catch (RuntimeException e) {
                failed++;
                firstFailure = firstFailure == null ? e : firstFailure;
            }
        }
        if (closing > 0) {
            log.info("closing {} client session(s) bound to the previous writer", closing);
        }
        if (failed > 0) {
            writerChangeFailures.addAndGet(failed);
            log.warn("writer change reached every session but {} failed to act on it; first failure: {}", failed,
                    firstFailure.toString(), firstFailure);
        }
    }

    private final AtomicLong writerChangeFailures = new AtomicLong();

    /** Sessions that failed to act on a writer change since start (each is logged); zero in a healthy Baton. */
    long writerChangeFailures() {
        return writerChangeFailures.get();
    }

    public static BatonProxy start(BatonConfig config) throws ConfigException {
        return start(config, new NodeNameResolver());
    }

    /** Starts a proxy in front of a topology built elsewhere (tests drive a topology of their own). */
    static BatonProxy start(BatonConfig config, ClusterTopology topology) throws ConfigException {
        return start(config, topology, new NodeNameResolver());
    }

    /**
     * Starts Baton with its own way of resolving node host names, for embedding and tests; Baton closes
     * {@code resolver} when it stops. The default runs the JDK's lookups off the event loops.
     */
    public static BatonProxy start(BatonConfig config, AddressResolverGroup<? extends SocketAddress> resolver)
            throws ConfigException {
        return start(config, config.clusterType().create(config.cluster()), resolver);
    }

    private static BatonProxy start(BatonConfig config, ClusterTopology topology,
                                    AddressResolverGroup<? extends SocketAddress> resolver) throws ConfigException {
        ClientTls clientTls = null;
        if (config.tls() != null) {
            try {
                clientTls = new ClientTls(config.tls(), java.time.Clock.systemUTC());
            } catch (IllegalArgumentException | IllegalStateException e) {
                topology.close();
                resolver.close();
                throw new ConfigException(config.source(), "tls", e.getMessage());
            }
        }
        BatonLogLevel.apply(config.logLevel());
        BatonProxy proxy;
        try {
            proxy = new BatonProxy(config, topology, resolver, clientTls);
        } catch (ConfigException e) { // the server leg's certificate files: nothing is started yet but the topology
            topology.close();
            resolver.close();
            throw e;
        }
        try {
            if (clientTls != null) {
                clientTls.watch(proxy.acceptGroup.next());
            }
            proxy.bind();
        } catch (ConfigException | RuntimeException e) {
            proxy.close();
            throw e;
        }
        return proxy;
    }

    private void bind() throws ConfigException {
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(acceptGroup, ioGroup)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        clients.add(ch);
                        activeSessions.incrementAndGet();
                        sessionsOpened.incrementAndGet();
                        ch.pipeline().addLast(ClientSession.FRAMER, new dev.baton.protocol.PacketFramer(ClientSession.HANDSHAKE_MAX_PAYLOAD));
                        ClientSession session = newSession();
                        ch.pipeline().addLast(new ClientHandshake(BatonProxy.this, session));
                        ch.pipeline().addLast(session);
                    }
                });
        listener = bindOrExplain(bootstrap::bind, config.listen(), "listen");
        adminServer = new AdminServer(this);
        admin = bindOrExplain(a -> adminServer.bootstrap(acceptGroup, transport).bind(a), config.adminListen(), "admin.listen");
        topology.start();
        log.info("Baton listening on {} (admin {}), cluster '{}' with {} node(s): {}, transport {}",
                address(), adminAddress(), topology.type(), config.nodes().size(), config.nodes(), transport.describe());
    }

    private interface Binder {
        io.netty.channel.ChannelFuture bind(InetSocketAddress address);
    }

    private Channel bindOrExplain(Binder binder, HostPort where, String key) throws ConfigException {
        InetSocketAddress address = new InetSocketAddress(where.host(), where.port());
        if (address.isUnresolved()) {
            throw new ConfigException(config.source(), key, "cannot resolve host '" + where.host() + "'");
        }
        io.netty.channel.ChannelFuture future = binder.bind(address).awaitUninterruptibly();
        if (!future.isSuccess()) {
            Throwable cause = future.cause();
            String why = cause instanceof BindException || String.valueOf(cause.getMessage()).contains("in use")
                    ? cause.getMessage() : cause.toString();
            throw new ConfigException(config.source(), key, "cannot listen on " + where + ": " + why);
        }
        return future.channel();
    }

    public BatonConfig config() {
        return config;
    }

    /**
     * Reads the config file Baton was started with again and applies what a running Baton can take: quotas (not their
     * key), the admin token, the log level, timeouts and proxy-protocol. All or nothing: if the file is invalid or any
     * other key differs (which needs a restart), nothing changes. Open sessions keep their quota slots; a lower cap
     * applies to new connections. Logged once, either way. SIGHUP and the admin API may ask at the same time: one
     * reload runs at a time.
     */
    public synchronized ReloadReport reload() {
        BatonConfig running = config;
        String file = running.source();
        BatonConfig next;
        try {
            next = dev.baton.proxy.config.ConfigLoader.load(java.nio.file.Path.of(file));
        } catch (ConfigException e) {
            return refused(file, List.of(e.getMessage()));
        }
        ConfigChanges changes = ConfigChanges.between(running, next);
        if (!changes.restart().isEmpty()) {
            return refused(file, changes.restart());
        }
        quota.apply(next.quotas());
        BatonLogLevel.apply(next.logLevel());
        config = next;
        try {
            checkWriterCapacity(topology.currentWriter());
        } catch (RuntimeException e) {
            log.warn("cannot check the writer's max_connections against the new quotas.max-total: {}", e.toString(), e);
        }
        log.info("config reloaded from {}: {}", file, changes.live().isEmpty() ? "nothing changed"
                : "changed " + String.join(", ", changes.live()));
        return new ReloadReport(file, changes.live(), List.of(), null);
    }

    private static ReloadReport refused(String file, List<String> why) {
        String error = "config reload refused, nothing changed: " + String.join("; ", why);
        log.warn(error);
        return new ReloadReport(file, List.of(), why, error);
    }

    public ClusterTopology topology() {
        return topology;
    }

    /** Connection budgets and who uses how much of them. */
    public ClientQuota quota() {
        return quota;
    }

    BatonMetrics metrics() {
        return metrics;
    }

    /** TLS offered to clients, or null: clients connect without TLS. */
    ClientTls clientTls() {
        return clientTls;
    }

    /** The Prometheus text exposition, as served at /metrics. */
    public String scrapeMetrics() {
        return metrics.scrape();
    }

    /** Resolves node host names for backend connects, never on an event loop. */
    AddressResolverGroup<? extends SocketAddress> resolver() {
        return resolver;
    }

    /**
     * What decides whether a session's user can be logged in again on another node; empty when sessions.move is off
     * or the cluster has no monitor user (a single server: no writer to move to).
     */
    public java.util.Optional<AccountHashes> accountHashes() {
        return java.util.Optional.ofNullable(accountHashes);
    }

    /** The last greeting each node sent, which Baton's own greeting of a new client is based on. */
    ServerGreetings greetings() {
        return greetings;
    }

    Transport transport() {
        return transport;
    }

    public InetSocketAddress address() {
        return (InetSocketAddress) listener.localAddress();
    }

    public InetSocketAddress adminAddress() {
        return (InetSocketAddress) admin.localAddress();
    }

    /** Client connections open now, in any phase. */
    public int activeSessions() {
        return activeSessions.get();
    }

    public long sessionsOpened() {
        return sessionsOpened.get();
    }

    public long uptimeMillis() {
        return System.currentTimeMillis() - startedAt;
    }

    /**
     * A session for a channel about to become active. It takes part in every fan-out over sessions from now on,
     * although it has no client channel until {@code channelActive}.
     */
    ClientSession newSession() {
        ClientSession session = new ClientSession(this);
        sessions.add(session);
        return session;
    }

    /**
     * Waits up to {@code limit} until no session of this instance is parked or moving, then says how many moved and
     * how many were not (by reason) since the counts {@code movedBefore} and {@code notMovedBefore} were taken.
     */
    SwitchoverReport.SessionMoves awaitMoves(long movedBefore, Map<String, Long> notMovedBefore, Duration limit)
            throws InterruptedException {
        long end = System.nanoTime() + limit.toNanos();
        while (sessions.stream().anyMatch(ClientSession::isMoving) && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        Map<String, Long> notMoved = new java.util.TreeMap<>();
        metrics.sessionsNotMoved().forEach((reason, n) -> {
            long delta = n - notMovedBefore.getOrDefault(reason, 0L);
            if (delta > 0) {
                notMoved.put(reason, delta);
            }
        });
        return new SwitchoverReport.SessionMoves(config.cluster().instanceName(), metrics.sessionsMoved() - movedBefore,
                notMoved, sessions.stream().filter(ClientSession::isMoving).count());
    }

    /** The moved and not-moved counts when the current writer change began, for its event. */
    private volatile long movedMark;
    private volatile Map<String, Long> notMovedMark = Map.of();

    private void markMoves() {
        movedMark = metrics.sessionsMoved();
        notMovedMark = metrics.sessionsNotMoved();
    }

    /**
     * Once this instance's sessions have finished moving to {@code writer} (up to 10 s), records in the events how
     * many moved and how many could not, by reason, since the change began. Runs on the drain thread.
     */
    private void recordMoves(String writer) {
        try {
            SwitchoverReport.SessionMoves moves = awaitMoves(movedMark, notMovedMark, Duration.ofSeconds(10));
            markMoves();
            long moved = moves.sessionsMoved();
            Map<String, Long> notMoved = moves.sessionsNotMoved();
            if (moved > 0 || !notMoved.isEmpty()) {
                topology.sessionsEvent(writer, "sessions after the writer change to " + writer + ": " + moved
                        + " moved, " + notMoved.values().stream().mapToLong(Long::longValue).sum() + " not moved"
                        + (notMoved.isEmpty() ? "" : " " + notMoved));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.warn("cannot record what the sessions did through the writer change: {}", e.toString(), e);
        }
    }

    /** When a session last lost its link to each node unexpectedly (a server that died, or killed the connection). */
    private final java.util.concurrent.ConcurrentHashMap<Node, Long> linksLost = new java.util.concurrent.ConcurrentHashMap<>();
    /** How long after a lost link the other sessions on that node doubt theirs. */
    private static final long LINK_DOUBT_NANOS = TimeUnit.MILLISECONDS.toNanos(200);

    void linkLost(Node node) {
        linksLost.put(node, System.nanoTime());
    }

    /** True if a session lost its link to {@code node} within the last 200 ms. */
    boolean linkRecentlyLost(Node node) {
        Long at = linksLost.get(node);
        return at != null && System.nanoTime() - at < LINK_DOUBT_NANOS;
    }

    /** Whether sessions on an old writer are moved to the new one (sessions.move) rather than closed. */
    boolean movesSessions() {
        return accountHashes != null;
    }

    /** The connection ids of this instance's sessions, as announced in Baton's greetings. */
    SessionIds sessionIds() {
        return sessionIds;
    }

    void sessionClosed(ClientSession session) {
        sessions.remove(session);
        activeSessions.decrementAndGet();
    }

    @Override
    public void close() {
        if (listener != null) {
            listener.close().awaitUninterruptibly();
        }
        if (admin != null) {
            admin.close().awaitUninterruptibly();
        }
        if (adminServer != null) {
            adminServer.close();
        }
        clients.close().awaitUninterruptibly();
        if (clientTls != null) {
            clientTls.close();
        }
        topology.close();
        drains.shutdownNow();
        if (accountHashes != null) {
            accountHashes.close();
        }
        acceptGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        ioGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
        resolver.close();
    }
}

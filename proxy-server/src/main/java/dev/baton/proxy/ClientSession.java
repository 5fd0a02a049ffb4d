package dev.baton.proxy;

import dev.baton.protocol.CapabilityFlags;
import dev.baton.protocol.CommandTracker;
import dev.baton.protocol.ErrPacket;
import dev.baton.protocol.ForcedAuthSwitch;
import dev.baton.protocol.HandshakeResponse41;
import dev.baton.protocol.HandshakeV10;
import dev.baton.protocol.KillCommand;
import dev.baton.protocol.MalformedPacketException;
import dev.baton.protocol.NativePasswordProof;
import dev.baton.protocol.PacketScanner;
import dev.baton.protocol.Packets;
import dev.baton.protocol.PacketFramer;
import dev.baton.protocol.PreparedStatements;
import dev.baton.protocol.ResponseStatus;
import dev.baton.protocol.SessionState;
import dev.baton.routing.ClientQuota;
import dev.baton.routing.Node;
import dev.baton.routing.WriterChoice;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * One client connection and everything it owns: the client channel, the {@link BackendLink} to its server, the
 * protocol state read from the traffic ({@link CommandTracker}), and its place in the proxy's books. The link is a
 * field, not a pipeline fixture, so it can be replaced.
 *
 * <p>Phases: HANDSHAKE ({@link ClientHandshake} greets the client and reads its handshake response), CONNECTING
 * (the quota admitted the response; backend TCP connect and the server's greeting; the client is not read), LOGIN (the
 * response went to the server rewritten so it asks the client for the account's plugin; the server's
 * authentication packets are read whole, client bytes pass through), RELAY (bytes pass through both ways,
 * zero-copy, while two scanners read message starts), CLOSED. Both channels run on the same event loop, so
 * nothing here needs a lock.
 */
final class ClientSession extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);

    /** The greeting and the handshake response are read whole; no real one comes near this size. */
    static final int HANDSHAKE_MAX_PAYLOAD = BackendLink.FRAMED_MAX_PAYLOAD;
    static final String FRAMER = "framer";
    /** Enough of a command to read its type and a {@code USE db}. */
    private static final int CLIENT_HEAD_BYTES = 256;
    /** How much of a whole command the tracker reads in a session that may move (the text of a query). */
    private static final int WHOLE_QUERY_BYTES = 16 * 1024;
    /** Enough of a response to read OK/EOF status flags and a tracked schema change. */
    private static final int SERVER_HEAD_BYTES = 512;

    private enum Phase { HANDSHAKE, CONNECTING, LOGIN, RELAY, CLOSED }

    private static final java.util.concurrent.atomic.AtomicLong ARRIVALS = new java.util.concurrent.atomic.AtomicLong();

    /** Makes the server report every change of session state a move has to rebuild (see {@link SessionState}). */
    static final String TRACKING = "SET SESSION session_track_system_variables='*', session_track_schema=ON, "
            + "session_track_state_change=ON";

    /** Orders sessions by arrival, for fan-outs that visit them oldest first. */
    private final long arrival = ARRIVALS.incrementAndGet();

    private final BatonProxy proxy;
    private final PacketScanner fromClient = new PacketScanner(CLIENT_HEAD_BYTES);
    private PacketScanner fromServer = new PacketScanner(SERVER_HEAD_BYTES); // one per backend link
    private final PacketScanner.Listener clientListener = this::onClientMessage;
    private final PacketScanner.Listener serverListener = this::onServerMessage;

    private Phase phase = Phase.HANDSHAKE;
    private volatile Channel client; // null until channelActive; a writer change may look from another thread
    private BackendLink link;
    private volatile Node backendNode;
    private CommandTracker tracker;
    private String user;
    /** The sequence id of the client's last login packet, or of the server's, as the client numbers them. */
    private int lastAuthSequence;
    /**
     * During LOGIN: the server leg's sequence ids minus the client leg's (the two legs may differ in TLS, and a TLS
     * leg sends its handshake response one packet later, after an SSLRequest); 0 from RELAY on. Sequence ids held
     * in this session are the client's.
     */
    private int loginOffset;
    private int serverSequence; // of the last server message seen, so an ERR can stand in for it
    private int clientSequence; // the same for the client
    /** Bounds the whole login, from Baton's greeting to the server's OK (not counting a switchover's hold). */
    private ScheduledFuture<?> loginDeadline;
    /** Whether a switchover's drain held this client in CONNECTING. */
    private boolean held;
    private boolean flushBackend;
    private boolean flushClient;
    private ErrPacket rejection;
    private ClientQuota.Slot slot;
    /** The client's address and port as its PROXY protocol header (if any) named it; every backend link names it. */
    private java.net.InetSocketAddress clientPeer;
    private Switchover.Drain drain;
    private int rejectionSequence;
    /** The greeting Baton sent the client. */
    private HandshakeV10 offered;
    /** The client's handshake response, held from its arrival until it is forwarded. */
    private ByteBuf heldResponse;
    private HandshakeResponse41 response;
    /** The connection id Baton greeted this client with ({@link SessionIds}); 0 before {@code channelActive}. */
    private long connectionId;
    /** The client buffer being scanned: a command found whole in it can be rewritten. */
    private ByteBuf scanning;
    /** Commands in the buffer being scanned that are replaced or answered by Baton, in order; null when there are none. */
    private java.util.List<Rewrite> rewrites;

    // ---- what moving the session to another node needs (see park and move) ----
    /** The client's handshake response payload as it sent it, to log in again with; null until admitted. */
    private byte[] handshakePayload;
    /** The client flags (and MariaDB extended flags) the first login sent the server. */
    private int sentCapabilities;
    private int sentMariadbCapabilities;
    /** The scramble of a mysql_native_password AuthSwitchRequest relayed to the client; null for other plugins. */
    private byte[] authSeed;
    /** The client's answer to {@link #authSeed} (empty: no password); null until seen. Never logged. */
    private byte[] authAnswer;
    /** Why this session cannot be moved whatever its state (a metric label), or null. */
    private String unmovable;
    /** Parked: the client is not read while the session waits for a writer to move to. */
    private volatile boolean parked; // read by a switchover's report, from another thread
    /** Parked because the link was lost (not let go by Baton): a move only to another node than the lost one. */
    private boolean linkLost;
    private boolean moving;
    private long parkedUntil;
    /** What the session changed on its server since login, from session tracking; null when not tracked. */
    private SessionState state;
    /** The session's server-side prepared statements, to prepare again on a new writer; null when not tracked. */
    private PreparedStatements statements;
    /**
     * What the current server's statement ids exceed the client's by, after a move to a connection whose ids already
     * stood past the session's: added to the ids the client sends, taken off those the server sends back.
     */
    private long statementIdOffset;
    /** Baton asked the server for session tracking that the client did not ask for: hide it from the client. */
    private boolean hiddenTracking;
    /** The server's login OK, held while Baton's {@link #TRACKING} statement runs. */
    private ByteBuf heldLoginOk;
    /** Client buffer and server buffer being scanned: an OK whole in the latter can be rewritten. */
    private ByteBuf scanningServer;
    /** OK packets in the server buffer being scanned whose session state is cut out: [start, keep, end) each. */
    private int[] cuts;
    private int cutCount;
    /** Baton runs its {@link #TRACKING} statement again between the client's commands; the client is not read. */
    private boolean rearming;
    /** The user a COM_CHANGE_USER in progress names; null otherwise. */
    private String changingTo;
    /** A command is held while Baton finds out whether this session's server just died ({@link #doubt}). */
    private boolean doubting;
    /** How long a quiet session's command waits after another link to its node was lost ({@link #doubt}). */
    static final int DOUBT_MS = 100;
    /** The server refused {@link #TRACKING} once: not asked again. */
    private boolean trackingRefused;
    /** The server sent something no command asked for (an ERR before closing a killed connection). */
    private boolean serverSaidGoodbye;
    /** Client bytes read after reads were paused for a move; relayed on the new link. */
    private java.util.ArrayDeque<ByteBuf> heldFromClient;

    /**
     * A command found whole at {@code [start, end)} of the buffer being scanned (its whole frame), a KILL or a
     * prepared statement's execution: sent on as {@code replacement}, or answered by Baton with {@code refusal} and
     * not sent on.
     */
    private record Rewrite(int start, int end, ByteBuf replacement, ErrPacket refusal) {
    }

    ClientSession(BatonProxy proxy) {
        this.proxy = proxy;
    }

    // ---- client side -------------------------------------------------------------------------------------------

    /** The client connected: registers its connection id and starts the login deadline. From {@link ClientHandshake}. */
    void activate(Channel channel) {
        client = channel;
        connectionId = proxy.sessionIds().register(this);
        Duration handshakeTimeout = proxy.config().handshakeTimeout();
        loginDeadline = client.eventLoop().schedule(() -> loginTimedOut(handshakeTimeout), handshakeTimeout.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /**
     * The client's handshake response passed {@link ClientHandshake}'s checks and the quota admitted it: connect to
     * the writer, or wait for one. The session owns {@code frame} from here.
     */
    void admitted(HandshakeV10 offered, HandshakeResponse41 response, ByteBuf frame, ClientQuota.Slot slot,
                  java.net.InetSocketAddress clientPeer) {
        if (phase == Phase.CLOSED) { // the login deadline passed meanwhile
            frame.release();
            slot.release();
            return;
        }
        this.offered = offered;
        this.response = response;
        this.heldResponse = frame;
        this.slot = slot;
        this.clientPeer = clientPeer;
        this.user = response.user();
        this.lastAuthSequence = Packets.sequenceId(frame);
        phase = Phase.CONNECTING;
        chooseWriter(System.nanoTime() + proxy.topology().connectWait().toNanos());
    }

    /** Parked or being moved to a new writer (read from other threads). */
    boolean isMoving() {
        return parked && phase != Phase.CLOSED;
    }

    boolean isClosed() {
        return phase == Phase.CLOSED;
    }

    /** Logged in or closed: the deadline is cancelled and dropped, so an idle session does not keep it (~80 bytes). */
    private void cancelLoginDeadline() {
        if (loginDeadline != null) {
            loginDeadline.cancel(false);
            loginDeadline = null;
        }
    }

    private void loginTimedOut(Duration handshakeTimeout) {
        if (phase == Phase.CONNECTING && (held || proxy.holding())) {
            // Held by a switchover's drain, which has its own deadline: the login gets its full time once released.
            loginDeadline = client.eventLoop().schedule(() -> loginTimedOut(handshakeTimeout), handshakeTimeout.toMillis(),
                    TimeUnit.MILLISECONDS);
            return;
        }
        if (phase == Phase.CONNECTING) {
            refuse("no writer connection within the login time (timeouts.handshake, " + handshakeTimeout.toMillis() + " ms)");
        } else if (phase != Phase.CLOSED && phase != Phase.RELAY) {
            fail(ClientErrors.badHandshake("authentication did not complete within " + handshakeTimeout.toMillis() + " ms"),
                    lastAuthSequence + 1);
        }
    }

    /** Connects to the writer, or waits for one (an election) until {@code waitUntil}, then refuses. */
    private void chooseWriter(long waitUntil) {
        if (phase != Phase.CONNECTING || !client.isActive()) {
            return;
        }
        if (proxy.holding()) { // a planned switchover: wait for the new writer, bounded by the drain
            held = true;
            client.eventLoop().schedule(() -> chooseWriter(Math.max(waitUntil, System.nanoTime() + 50_000_000L)),
                    50, TimeUnit.MILLISECONDS);
            return;
        }
        if (held) { // released by the switchover: the login gets its full time from here
            held = false;
            loginDeadline.cancel(false);
            Duration handshakeTimeout = proxy.config().handshakeTimeout();
            loginDeadline = client.eventLoop().schedule(() -> loginTimedOut(handshakeTimeout), handshakeTimeout.toMillis(),
                    TimeUnit.MILLISECONDS);
        }
        WriterChoice choice = proxy.topology().currentWriter();
        if (choice instanceof WriterChoice.NoWriter none) {
            if (System.nanoTime() < waitUntil) {
                client.eventLoop().schedule(() -> chooseWriter(waitUntil), 50, TimeUnit.MILLISECONDS);
            } else {
                refuse(none.reason());
            }
            return;
        }
        backendNode = ((WriterChoice.Writer) choice).node();
        connect();
    }

    private void connect() {
        link = BackendLink.to(backendNode, new LinkEvents()).proxyHeaderFrom(clientPeer);
        link.connect(proxy, client.eventLoop(), proxy.config().connectTimeout());
    }

    /**
     * The writer changed. A session bound to another node is closed, so no client keeps writing to a node that is
     * no longer the writer. Runs on the session's event loop.
     */
    void writerChanged(WriterChoice now) {
        Channel channel = client;
        if (channel == null) {
            return; // not active yet: it will ask the topology for the writer, which already names the new one
        }
        channel.eventLoop().execute(() -> {
            Node bound = backendNode;
            if (phase == Phase.CLOSED || bound == null) {
                return;
            }
            if (parked || now instanceof WriterChoice.Writer w && w.node().equals(bound)) {
                return; // a parked session moves to whichever writer the topology names (awaitWriter)
            }
            String why = phase == Phase.RELAY ? whyNotMovable() : "login";
            if (why == null && tracker.isQuiet()) {
                log.debug("moving idle session of {} off {}: the writer changed", client.remoteAddress(), bound);
                park(false);
                return;
            }
            log.debug("closing session of {} bound to {}: the writer changed", client.remoteAddress(), bound);
            notMoved(why != null ? why : "in_flight", "the writer changed while "
                    + (why != null ? "it could not be moved" : "a command or transaction was in flight"));
        });
    }

    /**
     * Planned switchover: close this session now if it is between transactions, else as soon as its transaction
     * ends (after the client has its answer). Runs on the session's event loop.
     */
    void drain(Switchover.Drain books) {
        client.eventLoop().execute(() -> {
            if (phase == Phase.CLOSED || drain != null) {
                books.remaining.countDown();
                return;
            }
            if (parked) {
                books.idle.incrementAndGet();
                books.remaining.countDown();
            } else if (phase != Phase.RELAY || !tracker.isAuthenticated() || tracker.isQuiet()) {
                books.idle.incrementAndGet();
                if (leaveIdle()) {
                    books.moving.incrementAndGet();
                }
                books.remaining.countDown();
            } else {
                log.debug("draining session of {}: in transaction {}, {} command(s) in flight", client.remoteAddress(),
                        tracker.inTransaction(), tracker.commandsInFlight());
                drain = books; // closed by relayFromServer when the transaction ends
            }
        });
    }

    /** The drain timeout passed: close a session still in its transaction. */
    void drainTimedOut(Switchover.Drain books) {
        client.eventLoop().execute(() -> {
            if (drain == books && phase != Phase.CLOSED) {
                drain = null;
                books.inTransaction.incrementAndGet();
                notMoved("transaction", "still in a transaction at the drain deadline");
                books.remaining.countDown();
            }
        });
    }

    long arrival() {
        return arrival;
    }

    // ---- moving to another node --------------------------------------------------------------------------------

    /**
     * Why this session cannot be moved to another node as it stands (a metric label), or null if it can once it is
     * quiet: moving turned off, a login Baton cannot repeat, or state the new server would not have.
     */
    private String whyNotMovable() {
        if (!proxy.movesSessions()) {
            return "disabled";
        }
        if (unmovable != null) {
            return unmovable;
        }
        if (tracker == null || tracker.untracked()) {
            return "untracked";
        }
        if (authAnswer == null) {
            return "auth_plugin";
        }
        if (state == null) {
            return "tracking_off";
        }
        if (!state.movable()) {
            return state.reasons().iterator().next().label();
        }
        return statements.reasonNotMovable(tracker.database());
    }

    /**
     * The session is quiet and leaves its node: moved if it can be, else closed as before moving existed.
     *
     * @return true if it is moving
     */
    private boolean leaveIdle() {
        String why = phase == Phase.RELAY ? whyNotMovable() : "login";
        if (why == null) {
            park(false);
            return true;
        }
        notMoved(why, "it could not be moved");
        return false;
    }

    /**
     * Stops reading the client (what it sends next waits in its socket, or in {@link #heldFromClient}) and, unless
     * the link was lost, lets go of it; then waits for a writer to move to ({@link #awaitWriter}).
     */
    private void park(boolean lost) {
        parked = true;
        rearming = false;
        doubting = false;
        if (flushClient) { // the answer that made the session quiet may be in this very read: the link hears no more
            flushClient = false;
            client.flush();
        }
        linkLost = lost;
        client.config().setAutoRead(false);
        if (!lost) {
            link.closeAfterFlush(proxy.config().closeTimeout());
        }
        parkedUntil = System.nanoTime() + proxy.topology().connectWait().toNanos();
        if (proxy.topology().currentWriter() instanceof WriterChoice.Writer w && w.handingOver()) {
            // A switchover names the next writer before it is one: read this user's stored hashes there now, so the
            // move does not wait for that read once the writer is recorded.
            proxy.accountHashes().ifPresent(h -> h.prove(w.handover().to(), user, authSeed, authAnswer));
        }
        awaitWriter();
    }

    /**
     * Moves a parked session to the writer the topology names, once no switchover holds clients; a session whose link
     * was lost moves only to another node (its own may have ended it on purpose, a KILL). Bounded like a new client's
     * wait for a writer (connect-wait).
     */
    private void awaitWriter() {
        if (phase == Phase.CLOSED || !parked || moving) {
            return;
        }
        if (proxy.holding()) {
            parkedUntil = Math.max(parkedUntil, System.nanoTime() + 50_000_000L); // bounded by the drain instead
        } else if (proxy.topology().currentWriter() instanceof WriterChoice.Writer w
                && !(linkLost && w.node().equals(backendNode))) {
            move(w.node());
            return;
        }
        if (System.nanoTime() - parkedUntil > 0) {
            if (linkLost && proxy.topology().currentWriter() instanceof WriterChoice.Writer w && w.node().equals(backendNode)) {
                // Its server ended the connection and stayed the writer: killed without a word, or wait_timeout.
                notMoved("link_lost", "its connection ended while " + backendNode + " stayed the writer");
            } else {
                notMoved("no_writer", "no writer to move it to within connect-wait");
            }
            return;
        }
        client.eventLoop().schedule(this::awaitWriter, 50, TimeUnit.MILLISECONDS);
    }

    /** Logs in again on {@code to} as this session's user, rebuilds its state there, then swaps the new link in. */
    private void move(Node to) {
        moving = true;
        io.netty.channel.EventLoop loop = client.eventLoop();
        byte[] answer = authAnswer;
        proxy.accountHashes().orElseThrow().prove(to, user, authSeed, answer).whenComplete((proof, failure) -> loop.execute(() -> {
            if (phase == Phase.CLOSED) {
                return;
            }
            if (failure != null) {
                moveFailed(failure);
                return;
            }
            java.util.function.UnaryOperator<byte[]> answering;
            if (proof instanceof dev.baton.proxy.move.Relogin.Proven proven) {
                answering = proven::answer;
            } else if (proof instanceof dev.baton.proxy.move.Relogin.EmptyPassword empty) {
                answering = empty::answer;
            } else {
                dev.baton.proxy.move.Relogin.Refused refused = (dev.baton.proxy.move.Relogin.Refused) proof;
                notMoved(refused.reason().label(), refused.message());
                return;
            }
            SessionMove.Login login = new SessionMove.Login(handshakePayload, sentCapabilities, sentMariadbCapabilities, answering,
                    user.equals(response.user()) ? null : user);
            String database = tracker.database() != null && !tracker.database().equals(response.database())
                    ? tracker.database() : null;
            Duration timeout = proxy.config().connectTimeout().plus(proxy.config().handshakeTimeout());
            java.util.List<String> sql = new java.util.ArrayList<>(2);
            sql.add(TRACKING);
            String variables = state.replayStatement();
            if (variables != null) {
                sql.add(variables);
            }
            dev.baton.protocol.StatementReplay prepared;
            try {
                prepared = statements.replay(sentCapabilities);
            } catch (IllegalStateException e) { // whyNotMovable rules this out; never move what cannot be rebuilt
                notMoved("prepared_statement", e.getMessage());
                return;
            }
            SessionMove.start(proxy, loop, to, clientPeer, login, sql, database, prepared, timeout)
                    .whenComplete((moved, failed) -> {
                        if (failed != null) {
                            moveFailed(failed);
                        } else {
                            swapIn(moved, prepared);
                        }
                    });
        }));
    }

    private void moveFailed(Throwable failure) {
        Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        if (cause instanceof SessionMove.NotMoved n) {
            notMoved(n.reason, n.getMessage());
        } else {
            log.warn("moving the session of {} failed: {}", client.remoteAddress(), cause.toString(), cause);
            notMoved("failed", cause.toString());
        }
    }

    /** The new link is logged in and the session's state rebuilt on it: relay through it from now on. */
    private void swapIn(BackendLink moved, dev.baton.protocol.StatementReplay replay) {
        if (phase == Phase.CLOSED) {
            moved.abandon();
            return;
        }
        Node from = backendNode;
        if (link != null && link.isActive()) {
            link.abandon();
        }
        link = moved;
        backendNode = moved.node();
        fromServer = new PacketScanner(SERVER_HEAD_BYTES);
        serverSaidGoodbye = false;
        moved.listener(new LinkEvents());
        moved.unframed();
        parked = false;
        moving = false;
        statementIdOffset = replay == null ? 0 : replay.offset();
        statements.moved();
        proxy.metrics().sessionMoved();
        log.debug("moved the session of {} from {} to {} (server thread {}, {} prepared statement(s), ids offset by {})",
                client.remoteAddress(), from, backendNode, moved.threadId(), statements.openStatements(), statementIdOffset);
        resumeClient();
    }

    /** The session cannot be moved: it is closed, as every session bound to an old writer was before moving existed. */
    private void notMoved(String reason, String detail) {
        if (phase == Phase.CLOSED) {
            return;
        }
        if (!"disabled".equals(reason)) {
            proxy.metrics().sessionNotMoved(reason);
            log.debug("closing the session of {}: not moved ({}): {}", client.remoteAddress(), reason, detail);
        }
        releaseHeldFromClient();
        closeBoth();
    }

    private void holdFromClient(ByteBuf buf) {
        if (heldFromClient == null) {
            heldFromClient = new java.util.ArrayDeque<>(2);
        }
        heldFromClient.add(buf);
    }

    private void releaseHeldFromClient() {
        if (heldFromClient != null) {
            for (ByteBuf buf; (buf = heldFromClient.poll()) != null; ) {
                buf.release();
            }
            heldFromClient = null;
        }
    }

    /** The connection id Baton greeted this client with. */
    long connectionId() {
        return connectionId;
    }

    /** The node this session's backend link leads to, or null before one was chosen. */
    Node boundTo() {
        return backendNode;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        switch (phase) {
            case LOGIN -> relayFromClient((ByteBuf) msg);
            case RELAY -> {
                if (parked || rearming || doubting) {
                    holdFromClient((ByteBuf) msg);
                } else {
                    relayFromClient((ByteBuf) msg);
                }
            }
            default -> ReferenceCountUtil.release(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (flushBackend && !parked && !rearming && !doubting) {
            flushBackend = false;
            link.flush();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if ((phase == Phase.RELAY || phase == Phase.LOGIN) && !parked && !rearming && !doubting) {
            link.autoRead(client.isWritable());
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        phase = Phase.CLOSED;
        if (drain != null) {
            log.debug("session of {} ended by its client during a switchover drain", client.remoteAddress());
            drain.afterTransaction.incrementAndGet(); // the client ended it itself
            drain.remaining.countDown();
            drain = null;
        }
        cancelLoginDeadline();
        if (heldResponse != null) {
            heldResponse.release();
            heldResponse = null;
        }
        releaseHeldFromClient();
        if (heldLoginOk != null) {
            heldLoginOk.release();
            heldLoginOk = null;
        }
        if (link != null) {
            link.closeAfterFlush(proxy.config().closeTimeout());
        }
        if (slot != null) {
            slot.release(); // every way a session ends passes here
        }
        if (connectionId != 0) {
            proxy.sessionIds().release(connectionId, this);
        }
        proxy.sessionClosed(this);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (phase == Phase.CLOSED) {
            log.debug("client {} after close: {}", client.remoteAddress(), cause.toString());
            return;
        }
        if (cause instanceof IOException || cause instanceof DecoderException) {
            log.debug("client {} connection error: {}", client.remoteAddress(), cause.toString());
        } else {
            log.warn("client {} session failed: {}", client.remoteAddress(), cause.toString(), cause);
        }
        closeBoth();
    }

    /**
     * A quiet session's next command, while another session's link to the same node was lost a moment ago: held for
     * {@link #DOUBT_MS} to see whether this session's link is lost too (a dying server's connections end together),
     * so it is moved with the command instead of the command failing on a server that is gone. If the link is still
     * up then, the command goes on.
     */
    private boolean doubt(ByteBuf buf) {
        if (state == null || phase != Phase.RELAY || !tracker.isQuiet() || !proxy.linkRecentlyLost(backendNode)
                || whyNotMovable() != null) {
            return false;
        }
        doubting = true;
        holdFromClient(buf);
        client.config().setAutoRead(false);
        client.eventLoop().schedule(() -> {
            if (doubting && phase == Phase.RELAY && !parked) {
                doubting = false;
                resumeClient();
            }
        }, DOUBT_MS, TimeUnit.MILLISECONDS);
        return true;
    }

    private void relayFromClient(ByteBuf buf) {
        if (!doubt(buf)) {
            relayFromClientNow(buf);
        }
    }

    private void relayFromClientNow(ByteBuf buf) {
        boolean accepted;
        scanning = buf;
        try {
            accepted = fromClient.scan(buf, clientListener);
        } catch (RuntimeException e) { // MalformedPacketException, or a parser failing on bytes it did not expect
            buf.release();
            dropRewrites();
            String reason = reasonOf(e);
            log.warn("client {} sent a malformed packet, closing its session on {}: {}", client.remoteAddress(),
                    backendNode, reason);
            fail(ClientErrors.malformedFromClient(reason), clientSequence + 1);
            return;
        } finally {
            scanning = null;
        }
        if (!accepted) {
            buf.release();
            dropRewrites();
            fail(rejection, rejectionSequence);
            return;
        }
        proxy.metrics().clientBytes(buf.readableBytes());
        if (loginOffset != 0 && phase == Phase.LOGIN) { // one whole packet (the client is framed then)
            buf.setByte(buf.readerIndex() + 3, buf.getUnsignedByte(buf.readerIndex() + 3) + loginOffset);
        }
        if (rewrites == null) {
            link.write(buf);
        } else {
            forwardWithRewrites(buf);
        }
        flushBackend = true;
        if (!link.isWritable()) {
            client.config().setAutoRead(false);
        }
    }

    private boolean onClientMessage(int sequenceId, int length, ByteBuf buf, int index, int available) {
        clientSequence = sequenceId;
        if (!tracker.isAuthenticated() || changingTo != null && !tracker.awaitsCommand()) {
            if (!tracker.isAuthenticated()) {
                lastAuthSequence = sequenceId;
            }
            if (authSeed != null && authAnswer == null && (length == 0 || length == NativePasswordProof.LENGTH
                    && available >= length)) {
                authAnswer = new byte[length];
                buf.getBytes(index, authAnswer);
            }
        }
        // A KILL is short: only one whole in the buffer at hand is read, so it can be replaced in place.
        if (length <= KillCommand.MAX_PAYLOAD && available == length && buf == scanning && sequenceId == 0
                && tracker.awaitsCommand() && killAnsweredByBaton(buf, index, length)) {
            return true; // not sent on, so not tracked
        }
        // A session that may move reads its client's commands whole: the tracker then reads a query's text up to
        // WHOLE_QUERY_BYTES for what keeps a session from moving (GET_LOCK, LOCK TABLES, ...), not only its head.
        int shown = statements != null && buf == scanning && length < Packets.MAX_PAYLOAD
                && index + length <= buf.writerIndex() ? Math.min(length, WHOLE_QUERY_BYTES) : available;
        switch (tracker.onClientMessage(sequenceId, length, buf, index, shown)) {
            case UNKNOWN_COMMAND:
                rejection = length == 0 ? ClientErrors.emptyCommand() : ClientErrors.unknownCommand(buf.getUnsignedByte(index));
                rejectionSequence = sequenceId + 1;
                return false;
            case OUT_OF_ORDER:
                rejection = ClientErrors.outOfOrder(sequenceId);
                rejectionSequence = sequenceId + 1;
                return false;
            default:
                if (tracker.lastCommand() != null) {
                    proxy.metrics().command(tracker.lastCommand());
                    if (tracker.lastCommand() == dev.baton.protocol.CommandType.CHANGE_USER) {
                        changingUser(buf, index, length, available);
                    }
                    if (statements != null) {
                        onStatementCommand(sequenceId, length, buf, index);
                    }
                }
                return true;
        }
    }

    /**
     * COM_CHANGE_USER: the login Baton could repeat is the old user's. The new user's is learnt as the first one was,
     * from the AuthSwitchRequest the server answers with and the client's answer to it ({@link #onServerMessage}).
     */
    private void changingUser(ByteBuf buf, int index, int length, int available) {
        authSeed = null;
        authAnswer = null;
        changingTo = null;
        int end = index + Math.min(length, available);
        int nul = buf.indexOf(index + 1, end, (byte) 0);
        if (nul > 0) {
            changingTo = buf.toString(index + 1, nul - index - 1, java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /**
     * A whole command of a session whose prepared statements are tracked (the client side is framed): an execution
     * that must bind its types again on a new writer is replaced, every statement command is shown to
     * {@link PreparedStatements}, and statement ids are raised by {@link #statementIdOffset}.
     */
    private void onStatementCommand(int sequenceId, int length, ByteBuf buf, int index) {
        int command = buf.getUnsignedByte(index);
        if (command != 0x16 && command != 0x17 && command != 0x18 && command != 0x19 && command != 0x1A && command != 0x1C
                && command != 0xFA) {
            return; // not a prepared-statement command: nothing to keep or rewrite
        }
        if (buf != scanning || index + length > buf.writerIndex() || length >= Packets.MAX_PAYLOAD) {
            unmovable = "prepared_statement"; // not whole: cannot happen with the framer, but never guess
            return;
        }
        ByteBuf payload = buf.slice(index, length);
        ByteBuf replacement = command == 0x17 || command == 0xFA ? statements.rewriteExecute(payload, buf.alloc()) : null;
        ByteBuf sent = replacement != null ? replacement : payload;
        statements.onClientCommand(sent);
        if (statementIdOffset != 0 && sent.readableBytes() >= 5 && (command == 0x17 || command == 0x18 || command == 0x19
                || command == 0x1A || command == 0x1C || command == 0xFA)) {
            long id = sent.getUnsignedIntLE(sent.readerIndex() + 1);
            if (id != 0xFFFFFFFFL) {
                sent.setIntLE(sent.readerIndex() + 1, (int) (id + statementIdOffset));
            }
        }
        if (replacement != null) {
            if (rewrites == null) {
                rewrites = new java.util.ArrayList<>(2);
            }
            rewrites.add(new Rewrite(index - Packets.HEADER_SIZE, index + length,
                    Packets.frame(buf.alloc(), sequenceId, replacement), null));
        }
    }

    /**
     * A KILL (statement or COM_PROCESS_KILL) naming one of this instance's sessions by the id Baton greeted it with
     * is sent on naming that session's server thread, if that thread is on the node this session's backend is on.
     * On another node (or not connected yet) there is no such thread here: Baton answers as the server does for an
     * unknown thread, when no earlier command awaits its answer (else the server answers the untranslated id the
     * same way). Any other id passes unchanged; the server checks it and the sender's privileges as usual.
     *
     * @return true if Baton answers this command itself (it is not sent on)
     */
    private boolean killAnsweredByBaton(ByteBuf buf, int index, int length) {
        KillCommand.Target kill = KillCommand.find(buf, index, length);
        ClientSession target = kill == null ? null : proxy.sessionIds().find(kill.connectionId());
        if (target == null) {
            return false;
        }
        BackendLink targetLink = target.link;
        long thread = targetLink == null ? 0 : targetLink.threadId();
        Node node = target.backendNode;
        if (rewrites == null) {
            rewrites = new java.util.ArrayList<>(2);
        }
        int start = index - Packets.HEADER_SIZE;
        if (thread != 0 && node != null && node.equals(backendNode)) {
            rewrites.add(new Rewrite(start, index + length,
                    KillCommand.rewrite(link.channel().alloc(), 0, buf, index, length, kill, thread), null));
            log.debug("client {} rewrites session {}: sent on as thread {} on {}", client.remoteAddress(), kill.connectionId(),
                    thread, node);
            return false;
        }
        if (tracker.commandsInFlight() > 0) {
            return false;
        }
        rewrites.add(new Rewrite(start, index + length, null, ClientErrors.noSuchThread(kill.connectionId())));
        log.debug("client {} rewrites session {}, which is not connected to {}: answered as an unknown thread",
                client.remoteAddress(), kill.connectionId(), backendNode);
        return true;
    }

    /**
     * Sends {@code buf} on with each KILL found in it replaced, or left out and answered; {@code buf} itself is
     * released once, after the slices of it that are sent on have taken their own references.
     */
    private void forwardWithRewrites(ByteBuf buf) {
        try {
            int at = buf.readerIndex();
            for (Rewrite kill : rewrites) {
                if (kill.start() > at) {
                    link.write(buf.retainedSlice(at, kill.start() - at));
                }
                if (kill.replacement() != null) {
                    link.write(kill.replacement());
                } else {
                    client.writeAndFlush(kill.refusal().toFrame(client.alloc(), 1), client.voidPromise());
                }
                at = kill.end();
            }
            if (at < buf.writerIndex()) {
                link.write(buf.retainedSlice(at, buf.writerIndex() - at));
            }
        } finally {
            rewrites = null;
            buf.release();
        }
    }

    /** The read with KILLs in it is not sent on: release their replacements. */
    private void dropRewrites() {
        if (rewrites != null) {
            for (Rewrite kill : rewrites) {
                ReferenceCountUtil.release(kill.replacement());
            }
            rewrites = null;
        }
    }

    // ---- backend side ------------------------------------------------------------------------------------------

    /** What this session's own backend link tells it. */
    private final class LinkEvents implements BackendLink.Listener {
        @Override
        public void onPacket(BackendLink from, ByteBuf frame) {
            if (from != link) {
                frame.release();
                return;
            }
            switch (phase) {
                case CONNECTING -> onGreeting(frame);
                case LOGIN -> onLoginPacket(frame);
                case RELAY -> onTrackingRearmed(frame);
                default -> frame.release();
            }
        }

        @Override
        public void onBytes(BackendLink from, ByteBuf buf) {
            if (from == link && phase == Phase.RELAY) {
                relayFromServer(buf);
            } else {
                buf.release();
            }
        }

        @Override
        public void onReadComplete(BackendLink from) {
            if (flushClient) {
                flushClient = false;
                client.flush();
            }
        }

        @Override
        public void onWritabilityChanged(BackendLink from, boolean writable) {
            if (from == link && (phase == Phase.RELAY || phase == Phase.LOGIN)) {
                client.config().setAutoRead(writable);
            }
        }

        @Override
        public void onClosed(BackendLink from, String reason) {
            if (from != link) {
                return;
            }
            if (phase == Phase.CONNECTING) {
                refuse(reason);
                return;
            }
            if (phase == Phase.RELAY && parked) {
                log.debug("backend link of parked client {} ended: {}", client.remoteAddress(), reason);
                return;
            }
            if (phase == Phase.RELAY && !serverSaidGoodbye) {
                proxy.linkLost(from.node()); // the server gave no reason: the other sessions on it doubt theirs
            }
            if (phase == Phase.LOGIN && !tracker.authenticationFailed()) {
                // Lost before the login ended (TLS to the server failed, or the server closed): tell the client why.
                log.warn("login of client {} failed: {}", client.remoteAddress(), reason);
                fail(ClientErrors.noWriter(reason), lastAuthSequence + 1);
                return;
            }
            if (phase == Phase.RELAY && !serverSaidGoodbye && tracker.isQuiet() && whyNotMovable() == null) {
                log.debug("backend link of idle client {} was lost ({}): waiting for a writer to move it to",
                        client.remoteAddress(), reason);
                park(true);
            } else if (phase != Phase.CLOSED) {
                log.debug("backend link of client {} ended: {}", client.remoteAddress(), reason);
                phase = Phase.CLOSED;
                closeAfterFlush(client, proxy.config().closeTimeout(), "client " + client.remoteAddress());
            }
        }
    }

    /**
     * The server's greeting: remembered for the next clients, checked against what Baton offered this client, and
     * answered with the client's handshake response, rewritten so that the server asks the client for the
     * account's plugin with its own scramble (AuthSwitchRequest, sequence id 2) instead of checking an answer to
     * Baton's scramble.
     */
    private void onGreeting(ByteBuf frame) {
        try {
            ByteBuf payload = Packets.payload(frame);
            if (payload.isReadable() && payload.getUnsignedByte(payload.readerIndex()) == ErrPacket.HEADER) {
                // The server refused the connection itself (too many connections, host blocked): pass its words
                // on, as the answer to the client's handshake response.
                phase = Phase.CLOSED;
                frame.setByte(frame.readerIndex() + 3, lastAuthSequence + 1);
                client.writeAndFlush(frame.retain()).addListener(ChannelFutureListener.CLOSE);
                link.abandon();
                return;
            }
            HandshakeV10 greeting = HandshakeV10.decode(payload.duplicate());
            proxy.greetings().remember(backendNode, greeting);
            HandshakeV10 server = greeting.withoutCapabilities(CapabilityFlags.UNSUPPORTED, CapabilityFlags.UNSUPPORTED_MARIADB);
            int capabilities = response.capabilities() & ~CapabilityFlags.UNSUPPORTED;
            int mariadbCapabilities = (capabilities & CapabilityFlags.CLIENT_MYSQL) == 0
                    ? response.mariadbCapabilities() & ~CapabilityFlags.UNSUPPORTED_MARIADB : 0;
            // A flag Baton offered and the client took, which this server does not offer, would make client and
            // server read the protocol differently (the writer changed to another server version since).
            int missing = capabilities & offered.capabilities() & ~server.capabilities() & ~CapabilityFlags.CLIENT_MYSQL;
            int missingMariadb = mariadbCapabilities & ~server.mariadbCapabilities();
            if (missing != 0 || missingMariadb != 0) {
                fail(ClientErrors.badHandshake("writer " + backendNode + " does not offer capabilities Baton's greeting offered "
                        + "(0x" + Integer.toHexString(missing) + ", MariaDB 0x" + Integer.toHexString(missingMariadb)
                        + "); connect again"), lastAuthSequence + 1);
                return;
            }
            boolean track = proxy.movesSessions() && (server.capabilities() & CapabilityFlags.CLIENT_SESSION_TRACK) != 0;
            if (track) {
                hiddenTracking = (capabilities & CapabilityFlags.CLIENT_SESSION_TRACK) == 0;
                capabilities |= CapabilityFlags.CLIENT_SESSION_TRACK;
                state = new SessionState();
                statements = new PreparedStatements();
            }
            if (proxy.movesSessions()) { // what logs the session in again elsewhere; never needed otherwise
                handshakePayload = io.netty.buffer.ByteBufUtil.getBytes(Packets.payload(heldResponse));
            }
            sentCapabilities = capabilities;
            sentMariadbCapabilities = mariadbCapabilities;
            ByteBuf rewritten = ForcedAuthSwitch.handshakeResponse(Packets.payload(heldResponse), capabilities,
                    mariadbCapabilities, link.channel().alloc());
            link.greeted(greeting.connectionId()); // the thread id is what a KILL names
            tracker = new CommandTracker(capabilities & server.capabilities(), response.database(), state, statements);
            heldResponse.release();
            heldResponse = null;
            phase = Phase.LOGIN;
            int sent;
            try {
                sent = link.login(proxy.serverTls(), greeting.capabilities(), Packets.sequenceId(frame), rewritten);
            } catch (BackendLink.TlsRefused e) {
                log.warn("refusing client {}: {}", client.remoteAddress(), e.getMessage());
                fail(ClientErrors.noWriter(e.getMessage()), lastAuthSequence + 1);
                return;
            }
            loginOffset = sent - lastAuthSequence;
            if (loginOffset == 0) {
                client.pipeline().remove(FRAMER); // any bytes it still holds reach channelRead as LOGIN traffic
            } else { // the client's packets stay whole, so their sequence ids can be translated; no longer handshake-sized
                client.pipeline().replace(FRAMER, FRAMER, new PacketFramer(Packets.MAX_PAYLOAD));
            }
            client.config().setAutoRead(true);
        } catch (MalformedPacketException e) {
            refuse("writer " + backendNode + " sent an invalid greeting: " + e.getMessage());
        } finally {
            frame.release();
        }
    }

    /**
     * One whole packet of the server's side of the login: an AuthSwitchRequest, more auth data, or the final OK or
     * ERR. Each goes to the client unchanged, except an OK for a client whose quota has no room once its name is
     * trusted: that one becomes ERR 1040. After the OK, the backend side is relayed without framing.
     */
    private void onLoginPacket(ByteBuf frame) {
        if (heldLoginOk != null) {
            onTrackingArmed(frame);
            return;
        }
        if (loginOffset != 0) { // the server's numbering, one TLS request ahead or behind the client's
            frame.setByte(frame.readerIndex() + 3, Packets.sequenceId(frame) - loginOffset);
        }
        int sequenceId = Packets.sequenceId(frame);
        int length = Packets.payloadLength(frame);
        lastAuthSequence = sequenceId;
        if (proxy.movesSessions()) {
            noteAuthRequest(Packets.payload(frame));
        }
        tracker.onServerMessage(sequenceId, length, frame, frame.readerIndex() + Packets.HEADER_SIZE, length);
        if (tracker.isAuthenticated()) {
            if (!slot.confirm()) {
                String usage = slot.fullMessage();
                frame.release();
                log.debug("refusing {} after login as '{}': {}", client.remoteAddress(), user, usage);
                fail(ClientErrors.overQuota(usage), lastAuthSequence);
                return;
            }
            cancelLoginDeadline();
            log.debug("client {} authenticated as '{}' on {}", client.remoteAddress(), user, backendNode);
            if (state != null) {
                // Before the client hears its OK: make the server report every change of session state from now on.
                heldLoginOk = frame;
                link.send(query(link.channel().alloc(), TRACKING));
                return;
            }
            startRelay(frame);
            return;
        }
        if (tracker.authenticationFailed()) {
            slot.release(); // a failed login keeps no place; the server closes the connection next
        }
        proxy.metrics().serverBytes(frame.readableBytes());
        client.writeAndFlush(frame, client.voidPromise());
    }

    /** Passes the server's login OK on and relays from now on. */
    private void startRelay(ByteBuf loginOk) {
        phase = Phase.RELAY;
        boolean framedForLogin = loginOffset != 0;
        loginOffset = 0; // commands number their packets from 0 on both legs
        if (statements != null && !framedForLogin) {
            // A session that may move reads the client's commands whole: a prepared statement's text, an execution
            // whose types must be bound again and statement ids to translate are rewritten per packet.
            client.pipeline().addBefore(client.pipeline().context(this).name(), FRAMER, new PacketFramer(Packets.MAX_PAYLOAD));
        } else if (statements == null && framedForLogin) {
            client.pipeline().remove(FRAMER); // any bytes it still holds reach channelRead as RELAY traffic
        }
        if (hiddenTracking) {
            int payloadLength = ResponseStatus.hideSessionState(loginOk, loginOk.readerIndex());
            loginOk.writerIndex(loginOk.readerIndex() + Packets.HEADER_SIZE + payloadLength);
        }
        proxy.metrics().serverBytes(loginOk.readableBytes());
        client.writeAndFlush(loginOk, client.voidPromise());
        link.unframed(); // any bytes its framer still holds arrive as RELAY traffic
    }

    /** The answer to Baton's own {@link #TRACKING} statement after login: not the client's to see. */
    private void onTrackingArmed(ByteBuf answer) {
        try {
            ByteBuf payload = Packets.payload(answer);
            if (payload.isReadable() && payload.getUnsignedByte(payload.readerIndex()) == ErrPacket.HEADER) {
                log.debug("session tracking refused by {} for client {}: {}", backendNode, client.remoteAddress(),
                        ErrPacket.decode(payload).message());
                unmovable = "tracking_off";
            }
        } catch (MalformedPacketException e) {
            unmovable = "tracking_off";
        } finally {
            answer.release();
        }
        ByteBuf loginOk = heldLoginOk;
        heldLoginOk = null;
        startRelay(loginOk);
    }

    /** A COM_QUERY packet (sequence id 0) of {@code sql}. */
    static ByteBuf query(io.netty.buffer.ByteBufAllocator alloc, String sql) {
        ByteBuf payload = alloc.buffer(1 + sql.length());
        payload.writeByte(0x03);
        payload.writeCharSequence(sql, java.nio.charset.StandardCharsets.UTF_8);
        return Packets.frame(alloc, 0, payload);
    }

    /**
     * Remembers the scramble of a mysql_native_password AuthSwitchRequest, whose answer lets Baton log in again as
     * this user ({@link NativePasswordProof}); any other plugin, or more auth data, makes the session unmovable.
     */
    private void noteAuthRequest(ByteBuf payload) {
        if (!payload.isReadable()) {
            return;
        }
        int first = payload.getUnsignedByte(payload.readerIndex());
        if (first == 0xFE && payload.readableBytes() > 1) {
            int start = payload.readerIndex() + 1;
            int nul = payload.indexOf(start, payload.writerIndex(), (byte) 0);
            String plugin = nul < 0 ? "" : payload.toString(start, nul - start, java.nio.charset.StandardCharsets.UTF_8);
            authAnswer = null;
            if ("mysql_native_password".equals(plugin)) {
                byte[] data = new byte[payload.writerIndex() - nul - 1];
                payload.getBytes(nul + 1, data);
                authSeed = NativePasswordProof.seed(data);
            } else {
                authSeed = null;
            }
        } else if (first == 0x01) {
            authSeed = null; // AuthMoreData: a plugin with more rounds than mysql_native_password
            authAnswer = null;
        }
    }

    private void relayFromServer(ByteBuf buf) {
        if (tracker != null) {
            scanningServer = buf;
            cutCount = 0;
            try {
                fromServer.scan(buf, serverListener);
            } catch (RuntimeException e) { // MalformedPacketException, or a parser failing on bytes it did not expect
                scanningServer = null;
                buf.release(); // not forwarded: the client gets an ERR in place of what the server sent
                String reason = reasonOf(e);
                log.warn("server {} sent a malformed packet to client {}, closing the session: {}", backendNode,
                        client.remoteAddress(), reason);
                fail(ClientErrors.malformedFromServer(backendNode.name(), reason), serverSequence);
                return;
            }
        }
        scanningServer = null;
        proxy.metrics().serverBytes(buf.readableBytes());
        if (cutCount == 0) {
            client.write(buf, client.voidPromise());
        } else {
            forwardWithCuts(buf);
        }
        flushClient = true;
        if (drain != null && tracker != null && tracker.isQuiet()) {
            log.debug("session of {} finished its transaction during a switchover drain", client.remoteAddress());
            Switchover.Drain books = drain; // the transaction ended and its answer is on its way: move or close now
            drain = null;
            books.afterTransaction.incrementAndGet();
            if (leaveIdle()) {
                books.moving.incrementAndGet();
            }
            books.remaining.countDown();
            return;
        }
        if (state != null && !parked && tracker.isQuiet() && state.reasons().contains(SessionState.Reason.TRACKING_CHANGED)
                && !trackingRefused) {
            rearmTracking();
            return;
        }
        if (!client.isWritable()) {
            link.autoRead(false);
        }
    }

    /**
     * The client changed the server's session tracking (MariaDB Connector/J sets its own variable list at connect) or
     * reset the session: with the session quiet, the client is paused for one round trip while Baton sets
     * {@link #TRACKING} again, so the session stays movable. The client, if it asked for tracking, then hears of every
     * variable, not only its own list.
     */
    private void rearmTracking() {
        rearming = true;
        client.config().setAutoRead(false);
        link.framed();
        link.send(query(link.channel().alloc(), TRACKING));
    }

    /** The answer to {@link #rearmTracking}'s statement: not the client's to see. */
    private void onTrackingRearmed(ByteBuf answer) {
        try {
            ByteBuf payload = Packets.payload(answer);
            if (!rearming) {
                log.warn("server {} sent client {} a packet while no command was in flight; closing the session",
                        backendNode, client.remoteAddress());
                closeBoth();
                return;
            }
            if (payload.isReadable() && payload.getUnsignedByte(payload.readerIndex()) == 0x00) {
                state.trackingArmed();
            } else {
                trackingRefused = true; // the session stays unmovable (tracking_changed)
                log.debug("server {} refused to track session state again for client {}", backendNode, client.remoteAddress());
            }
        } finally {
            answer.release();
        }
        rearming = false;
        link.unframed();
        resumeClient();
    }

    /** Relays what the client sent while it was paused, then reads it again. */
    private void resumeClient() {
        java.util.ArrayDeque<ByteBuf> held = heldFromClient;
        heldFromClient = null;
        if (held != null) {
            for (ByteBuf buf; (buf = held.poll()) != null; ) {
                if (phase != Phase.RELAY || parked || rearming || doubting) {
                    holdFromClient(buf); // paused again meanwhile
                } else {
                    relayFromClientNow(buf);
                }
            }
            if (flushBackend) {
                flushBackend = false;
                link.flush();
            }
        }
        if (phase == Phase.RELAY && !parked && !rearming && !doubting) {
            client.config().setAutoRead(link.isWritable());
        }
    }

    /** Sends {@code buf} on without the byte ranges {@link #cuts} names; {@code buf} itself is released once. */
    private void forwardWithCuts(ByteBuf buf) {
        try {
            int at = buf.readerIndex();
            for (int i = 0; i < cutCount; i++) {
                int from = cuts[2 * i];
                if (from > at) {
                    client.write(buf.retainedSlice(at, from - at), client.voidPromise());
                }
                at = cuts[2 * i + 1];
            }
            if (at < buf.writerIndex()) {
                client.write(buf.retainedSlice(at, buf.writerIndex() - at), client.voidPromise());
            }
        } finally {
            cutCount = 0;
            buf.release();
        }
    }

    /**
     * The OK packet whose payload starts at {@code index} carries session state the client did not ask for: rewrite
     * it in place as the server would have sent it without tracking, and cut the rest out when forwarding. An OK not
     * whole in the buffer at hand (rare: it straddles two reads) goes on as it is, which clients that read the info
     * string and stop tolerate; the session can no longer be moved then, since Baton could not read it whole.
     */
    private void hideSessionState(int length, ByteBuf buf, int index) {
        int header = index - Packets.HEADER_SIZE;
        if (buf != scanningServer || header < buf.readerIndex() || index + length > buf.writerIndex()
                || length >= Packets.MAX_PAYLOAD) {
            unmovable = "state_unread";
            return;
        }
        int kept = ResponseStatus.hideSessionState(buf, header);
        if (cuts == null) {
            cuts = new int[4];
        } else if (cuts.length < 2 * cutCount + 2) {
            cuts = java.util.Arrays.copyOf(cuts, cuts.length * 2);
        }
        cuts[2 * cutCount] = index + kept;
        cuts[2 * cutCount + 1] = index + length;
        cutCount++;
    }

    private boolean onServerMessage(int sequenceId, int length, ByteBuf buf, int index, int available) {
        serverSequence = sequenceId;
        if (tracker.isAuthenticated() && tracker.commandsInFlight() == 0) {
            serverSaidGoodbye = true; // unsolicited: the ERR a server sends before it closes a connection it killed
        }
        if (changingTo != null && !tracker.awaitsCommand() && available == length && length > 1) {
            int first = buf.getUnsignedByte(index);
            if (first == 0xFE) {
                noteAuthRequest(buf.slice(index, length)); // the new user's scramble
            } else if (first == 0x00) {
                user = changingTo; // logged in as the new user: a move logs in as it from now on
                changingTo = null;
            } else if (first == 0xFF) {
                changingTo = null;
            }
        }
        if (statementIdOffset != 0 && length >= 9 && tracker.awaitsPrepareAnswer() && buf.getUnsignedByte(index) == 0x00) {
            if (buf != scanningServer || index + 5 > buf.writerIndex()) {
                // The id straddles two reads and part of it has gone to the client: it cannot be translated.
                throw new MalformedPacketException("a prepared statement id arrived split across two reads after the "
                        + "session moved, and could not be translated");
            }
            buf.setIntLE(index + 1, (int) (buf.getUnsignedIntLE(index + 1) - statementIdOffset));
        }
        boolean wasAuthenticated = tracker.isAuthenticated();
        if (!wasAuthenticated) {
            lastAuthSequence = sequenceId;
        }
        tracker.onServerMessage(sequenceId, length, buf, index, available);
        if (hiddenTracking && tracker.carriesSessionState()) {
            hideSessionState(length, buf, index);
        }
        if (!wasAuthenticated && tracker.isAuthenticated()) {
            cancelLoginDeadline();
        }
        return true;
    }

    // ---- endings -----------------------------------------------------------------------------------------------

    /** No writer for this client: it has been greeted and has sent its handshake response; answer it with ERR 9001. */
    private void refuse(String reason) {
        if (phase != Phase.CONNECTING) {
            return;
        }
        log.debug("refusing client {}: no writer available: {}", client.remoteAddress(), reason);
        if (backendNode != null) {
            proxy.topology().connectFailed(backendNode, reason);
        }
        fail(ClientErrors.noWriter(reason), lastAuthSequence + 1);
    }

    /** The client's connection failed below the protocol (its TLS handshake): closed without an answer. */
    void closeQuietly() {
        if (phase == Phase.CLOSED) {
            return;
        }
        phase = Phase.CLOSED;
        cancelLoginDeadline();
        client.close();
    }

    void fail(ErrPacket error, int sequenceId) {
        if (phase == Phase.CLOSED) {
            return;
        }
        phase = Phase.CLOSED;
        cancelLoginDeadline();
        client.config().setAutoRead(false);
        if (client.isActive()) {
            closeAfter(client, client.writeAndFlush(error.toFrame(client.alloc(), sequenceId & 0xFF)), proxy.config().closeTimeout(),
                    "client " + client.remoteAddress());
        }
        if (link != null) {
            link.abandon();
        }
    }

    private void closeBoth() {
        phase = Phase.CLOSED;
        Duration limit = proxy.config().closeTimeout();
        closeAfterFlush(client, limit, "client " + client.remoteAddress());
        if (link != null) {
            link.closeAfterFlush(limit);
        }
    }

    static void closeAfterFlush(Channel channel, Duration limit, String what) {
        if (channel != null && channel.isActive()) {
            closeAfter(channel, channel.writeAndFlush(Unpooled.EMPTY_BUFFER), limit, what);
        } else if (channel != null) {
            channel.close();
        }
    }

    /**
     * Closes {@code channel} once {@code lastWrite} (and so everything queued before it) is written, or at the close
     * deadline if the peer does not read: then what is still queued is dropped (Netty releases it on close), so a
     * stalled peer holds neither buffers nor, through channelInactive, its quota slot.
     */
    static void closeAfter(Channel channel, ChannelFuture lastWrite, Duration limit, String what) {
        lastWrite.addListener(ChannelFutureListener.CLOSE);
        ScheduledFuture<?> cutoff = channel.eventLoop().schedule(() -> {
            if (channel.isOpen()) {
                log.info("closing {} without flushing: it did not read what it was still owed within {} ms "
                        + "(timeouts.close)", what, limit.toMillis());
                channel.close();
            }
        }, limit.toMillis(), TimeUnit.MILLISECONDS);
        channel.closeFuture().addListener(f -> cutoff.cancel(false));
    }

    /** What a parser found wrong: its own message, or for any other failure the exception itself. */
    private static String reasonOf(RuntimeException e) {
        return e instanceof MalformedPacketException && e.getMessage() != null ? e.getMessage() : e.toString();
    }

    static String describe(Throwable cause) {
        Throwable root = cause;
        while (root instanceof DecoderException && root.getCause() != null) {
            root = root.getCause();
        }
        if (root instanceof java.net.UnknownHostException) {
            return "cannot resolve host name: " + root.getMessage();
        }
        String message = root.getMessage();
        if (message == null) {
            return root.getClass().getSimpleName();
        }
        if (message.contains("Connection refused")) {
            return "connection refused";
        }
        return message;
    }

    /** For status and tests: is this session between transactions with nothing in flight? */
    boolean isQuiet() {
        return tracker != null && tracker.isQuiet();
    }
}

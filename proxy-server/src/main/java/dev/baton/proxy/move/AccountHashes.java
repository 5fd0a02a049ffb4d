package dev.baton.proxy.move;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import dev.baton.protocol.NativePasswordProof;
import dev.baton.routing.ClusterSpec;
import dev.baton.routing.Node;
import dev.baton.routing.core.MonitorConnector;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * Decides whether Baton can log in again as a session's user on a node, from the 20-byte seed and answer of the
 * client's {@code mysql_native_password} login and the hashes the node stores for that user, which the monitor user
 * reads. Reads are blocking JDBC on a small executor of its own, never on an event loop, and are kept for a short
 * while per node and user: a switchover moves many sessions of one user at once, with one read. Failed reads are
 * not kept.
 */
public final class AccountHashes implements AutoCloseable {
    /** How long the rows read for one user on one node are used again. */
    public static final Duration DEFAULT_KEEP_FOR = Duration.ofSeconds(10);
    private static final int THREADS = 2;
    private static final int QUEUED_READS = 1024;

    private final ReadRows table;
    private final String monitorUser;
    private final ThreadPoolExecutor executor;
    private final AsyncCache<Key, Read> rows;
    private final AtomicLong reads = new AtomicLong();

    /** Reads one user's account rows; {@link AccountTable} in production, a stand-in in tests. */
    @FunctionalInterface
    interface ReadRows {
        List<StoredCredential> read(Node node, String user) throws AccountLookupException;
    }

    private record Key(Node node, String user) {
    }

    /**
     * What one read found: the rows, or why there are none. A read never fails its future, so the cache neither keeps
     * nor logs a failure; a failed read is removed by whoever sees it first.
     */
    private record Read(List<StoredCredential> rows, AccountLookupException failure) {
    }

    /** Reads as the monitor user, connecting as the monitor's checks do. */
    public AccountHashes(ClusterSpec.MonitorSettings monitor) {
        this(new MonitorConnector(monitor), monitor.user());
    }

    /** Reads as {@code monitorUser} over {@code connector}, the monitor's own connections (PROXY header included). */
    public AccountHashes(MonitorConnector connector, String monitorUser) {
        this(new AccountTable(connector, monitorUser)::read, monitorUser, DEFAULT_KEEP_FOR, Ticker.systemTicker());
    }

    AccountHashes(ReadRows table, String monitorUser, Duration keepFor, Ticker ticker) {
        this.table = table;
        this.monitorUser = monitorUser;
        AtomicInteger threads = new AtomicInteger();
        this.executor = new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(QUEUED_READS),
                r -> {
                    Thread t = new Thread(r, "baton-account-hashes-" + threads.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.executor.allowCoreThreadTimeOut(true);
        this.rows = Caffeine.newBuilder()
                .expireAfterWrite(keepFor)
                .ticker(ticker)
                .executor(Runnable::run)
                .buildAsync();
    }

    /**
     * Whether the client's {@code answer} to {@code seed} at login proves the password of an account named
     * {@code user} on {@code node}. Completes (never exceptionally) with {@link Relogin.Proven},
     * {@link Relogin.EmptyPassword} or {@link Relogin.Refused}. If no row read earlier proves it, the rows are read
     * once more: the password may have changed since they were read. The future completes on a reading thread or,
     * when the rows are at hand, on the caller's: hop to the channel's event loop before touching a channel.
     *
     * @param seed   the 20-byte scramble the server sent the client (in its greeting or AuthSwitchRequest)
     * @param answer the client's answer to it: 20 bytes, or none for an empty password
     */
    public CompletableFuture<Relogin> prove(Node node, String user, byte[] seed, byte[] answer) {
        if (seed == null || seed.length != NativePasswordProof.LENGTH) {
            throw new IllegalArgumentException("the seed must be " + NativePasswordProof.LENGTH + " bytes, got "
                    + (seed == null ? "none" : seed.length));
        }
        byte[] s = seed.clone();
        byte[] a = answer == null ? new byte[0] : answer.clone();
        Key key = new Key(node, user);
        boolean[] readHere = {false};
        CompletableFuture<Read> first = rows.get(key, (k, unused) -> {
            readHere[0] = true;
            return read(k);
        });
        return first.thenCompose(found -> {
            if (found.failure() != null) {
                rows.asMap().remove(key, first);
                return CompletableFuture.completedFuture(lookupFailed(found.failure()));
            }
            Relogin outcome = decide(node, user, found.rows(), s, a);
            if (!readHere[0] && outcome instanceof Relogin.Refused r && r.reason() == Relogin.Refusal.CREDENTIALS
                    && rows.asMap().remove(key, first)) {
                CompletableFuture<Read> again = rows.get(key, (k, unused) -> read(k));
                return again.thenApply(fresh -> {
                    if (fresh.failure() != null) {
                        rows.asMap().remove(key, again);
                        return lookupFailed(fresh.failure());
                    }
                    return decide(node, user, fresh.rows(), s, a);
                });
            }
            return CompletableFuture.completedFuture(outcome);
        }).exceptionally(AccountHashes::lookupFailed);
    }

    /**
     * What keeps the monitor user from reading stored password hashes on {@code node} (a missing grant, with the
     * GRANT to run, or the node not answering), or empty when it can. Never kept.
     */
    public CompletableFuture<Optional<String>> readProblem(Node node) {
        return read(new Key(node, monitorUser)).thenApply(found -> found.failure() == null ? Optional.empty()
                : Optional.of(found.failure().getMessage()));
    }

    /** How many times the account tables were read since start. */
    public long reads() {
        return reads.get();
    }

    /**
     * Whether a read is still running; the cache notes when a read ended only after the callers it answered, so a
     * test that moves the clock waits for this first.
     */
    boolean reading() {
        return executor.getActiveCount() > 0;
    }

    private CompletableFuture<Read> read(Key key) {
        ReadTask task = new ReadTask(key);
        try {
            executor.execute(task);
        } catch (RejectedExecutionException e) {
            task.fail(executor.isShutdown() ? "Baton is stopping" : QUEUED_READS + " reads are already waiting");
        }
        return task.result;
    }

    /** One read of a user's rows, which completes its result whether it runs or is dropped by {@link #close()}. */
    private final class ReadTask implements Runnable {
        private final Key key;
        private final CompletableFuture<Read> result = new CompletableFuture<>();

        ReadTask(Key key) {
            this.key = key;
        }

        @Override
        public void run() {
            reads.incrementAndGet();
            try {
                result.complete(new Read(table.read(key.node(), key.user()), null));
            } catch (AccountLookupException e) {
                result.complete(new Read(List.of(), e));
            } catch (RuntimeException e) {
                result.complete(new Read(List.of(), new AccountLookupException("cannot read stored password hashes on node "
                        + key.node().name() + ": " + e.getClass().getSimpleName(), e)));
            }
        }

        void fail(String why) {
            result.complete(new Read(List.of(), new AccountLookupException("cannot read stored password hashes on node "
                    + key.node().name() + ": " + why)));
        }
    }

    private static Relogin lookupFailed(Throwable failure) {
        Throwable cause = failure;
        while (cause instanceof CompletionException && cause.getCause() != null) {
            cause = cause.getCause();
        }
        String message = cause instanceof AccountLookupException ? cause.getMessage()
                : "cannot decide on a login: " + cause.getClass().getSimpleName();
        return new Relogin.Refused(Relogin.Refusal.LOOKUP_FAILED, message);
    }

    /**
     * The outcome for one answer and the rows of its user: the first {@code mysql_native_password} row that proves
     * the answer, or that has an empty password when the answer is empty; else why not.
     */
    static Relogin decide(Node node, String user, List<StoredCredential> rows, byte[] seed, byte[] answer) {
        if (rows.isEmpty()) {
            return new Relogin.Refused(Relogin.Refusal.CREDENTIALS, "no account named '" + user + "' on node " + node.name()
                    + " (dropped since the client logged in?)");
        }
        List<StoredCredential> usable = rows.stream().filter(StoredCredential::nativePassword).toList();
        for (StoredCredential row : usable) {
            String stored = row.authenticationString() == null ? "" : row.authenticationString();
            if (answer.length == 0) {
                if (stored.isEmpty()) {
                    return new Relogin.EmptyPassword(row.host());
                }
                continue;
            }
            if (stored.isEmpty()) {
                continue;
            }
            byte[] stage2;
            try {
                stage2 = NativePasswordProof.stage2(stored);
            } catch (IllegalArgumentException e) {
                continue; // not a hash of this plugin (an account locked by hand, say): it proves nothing
            }
            Optional<byte[]> stage1 = NativePasswordProof.recoverStage1(answer, seed, stage2);
            if (stage1.isPresent()) {
                return new Relogin.Proven(stage1.get(), row.host());
            }
        }
        if (usable.isEmpty()) {
            return new Relogin.Refused(Relogin.Refusal.AUTH_PLUGIN, describe(user, rows) + " on node " + node.name()
                    + "; Baton logs in again only as accounts using " + StoredCredential.NATIVE + " alone");
        }
        List<StoredCredential> others = new ArrayList<>(rows);
        others.removeAll(usable);
        return new Relogin.Refused(Relogin.Refusal.CREDENTIALS, "the password of " + accounts(user, usable) + " on node "
                + node.name() + " is not the one the client logged in with (changed since?)"
                + (others.isEmpty() ? "" : "; " + describe(user, others)));
    }

    private static String describe(String user, List<StoredCredential> rows) {
        return rows.stream().map(r -> "'" + user + "'@'" + r.host() + "' uses " + r.how()).collect(Collectors.joining(", "));
    }

    private static String accounts(String user, List<StoredCredential> rows) {
        return rows.stream().map(r -> "'" + user + "'@'" + r.host() + "'").collect(Collectors.joining(", "));
    }

    /** Stops the reads; what is still waiting completes as {@link Relogin.Refusal#LOOKUP_FAILED}. */
    @Override
    public void close() {
        for (Runnable dropped : executor.shutdownNow()) {
            ((ReadTask) dropped).fail("Baton is stopping");
        }
    }
}

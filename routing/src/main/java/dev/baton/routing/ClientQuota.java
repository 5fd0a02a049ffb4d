package dev.baton.routing;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Connection budgets at the door: at most {@code perClient} connections per client (an application server's
 * address by default, as the Rancher HA guide plans 50 per Rancher server) and {@code maxTotal} in all. A client
 * over budget is refused before any backend connection is opened, or, with {@code maxWait} above zero, queued for up to
 * that long until a slot frees (see {@link Waiter}). A client's entry is forgotten once it has had no connection and
 * no one waiting for {@code idleExpiry}, so memory and metric series stay bounded when addresses churn; an entry
 * with open connections or waiters never expires.
 *
 * <p>Who gets a freed slot: a waiter needs room in its own client's budget and in {@code maxTotal}. Whenever room
 * appears, the longest-waiting client among those at the head of their own client's line whose client has room gets
 * it, one at a time while {@code maxTotal} has room. So each client's line is first come, first served; a slot a
 * client of K gives back goes to K's longest waiter unless {@code maxTotal} is also full and a client of another key
 * has waited longer with room in its own budget (then that one gets the place in the total, and K's waiter the next
 * one); a waiter is never overtaken by one who came later and could use the same slot, so no one starves; and neither
 * cap is ever exceeded, as every grant checks both.
 */
public final class ClientQuota {

    /** What a client is. */
    public enum Key {
        CLIENT_ADDRESS("client-address"), USER("user"), USER_AND_ADDRESS("user-and-address");

        private final String configName;

        Key(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }

        public static Key byConfigName(String name) {
            for (Key k : values()) {
                if (k.configName.equals(name)) {
                    return k;
                }
            }
            throw new IllegalArgumentException("unknown quota key '" + name + "' (known: client-address, user, user-and-address)");
        }

        /** True if the key can be computed when the TCP connection arrives, before any handshake, and trusted. */
        public boolean knownAtAccept() {
            return this == CLIENT_ADDRESS;
        }

        public String of(String address, String user) {
            return switch (this) {
                case CLIENT_ADDRESS -> address;
                case USER -> user;
                case USER_AND_ADDRESS -> user + "@" + address;
            };
        }
    }

    /**
     * @param overrides per-client limits by key, replacing {@code perClient}; keys must be written as
     *                  {@link Key#of} computes them, so addresses in the form the proxy writes client addresses
     * @param maxWait   how long a client over budget waits for a slot before it is refused ({@code quotas.wait});
     *                  zero refuses at once
     */
    public record Settings(Key key, int perClient, int maxTotal, Map<String, Integer> overrides, Duration idleExpiry,
                           Duration maxWait) {
        public Settings {
            overrides = Map.copyOf(overrides);
            Objects.requireNonNull(maxWait, "maxWait");
            if (maxWait.isNegative()) {
                throw new IllegalArgumentException("maxWait must not be negative: " + maxWait);
            }
        }

        /** Settings that refuse a client over budget at once, as before waiting existed. */
        public Settings(Key key, int perClient, int maxTotal, Map<String, Integer> overrides, Duration idleExpiry) {
            this(key, perClient, maxTotal, overrides, idleExpiry, Duration.ZERO);
        }

        public static Settings defaults() {
            return new Settings(Key.CLIENT_ADDRESS, 50, 250, Map.of(), Duration.ofMinutes(10), Duration.ZERO);
        }

        public Settings withMaxWait(Duration maxWait) {
            return new Settings(key, perClient, maxTotal, overrides, idleExpiry, maxWait);
        }
    }

    /** A client's books; guarded by the quota's lock, mutated inside the cache's compute so its expiry follows. */
    private static final class Usage {
        /** The client's cap; a reload of the settings changes it, under the lock. */
        volatile int limit;
        /** Slots counted against the client. */
        volatile int current;
        /** Slots handed from the line to a client whose name is not trusted yet: held for it until confirm or release. */
        volatile int promised;
        volatile long rejected;
        /** Clients waiting for one of this client's slots, longest first. */
        final ArrayDeque<Waiter> line = new ArrayDeque<>();
        volatile int waiting;

        Usage(int limit) {
            this.limit = limit;
        }

        boolean hasRoom() {
            return current + promised < limit;
        }

        boolean busy() {
            return current > 0 || promised > 0 || waiting > 0;
        }
    }

    /** The answer to a connection: a slot to give back exactly once, a place in line, or the reason it was refused. */
    public sealed interface Admission {
    }

    /**
     * A granted connection. {@link #release()} may be called any number of times; it counts once. A slot from
     * {@link #reserve} counts against {@code max-total} only, until {@link #confirm()} counts it against its client.
     */
    public final class Slot implements Admission {
        private final String client;
        private boolean released;
        private volatile boolean counted;
        /** Given from the line before the client's name is trusted: it holds one of the client's slots until confirm. */
        private boolean promised;

        private Slot(String client, boolean counted, boolean promised) {
            this.client = client;
            this.counted = counted;
            this.promised = promised;
        }

        public String client() {
            return client;
        }

        /**
         * Counts this slot against its client, if the client still has room (an admitted slot already is):
         * true if it is counted now, false if the client is full (the slot still holds its place in the total
         * until released).
         */
        public boolean confirm() {
            if (counted) {
                return true;
            }
            List<Waiter> granted;
            synchronized (lock) {
                boolean wasPromised = promised;
                promised = false;
                boolean[] room = new boolean[1];
                update(client, usage -> {
                    if (wasPromised) {
                        usage.promised--;
                    }
                    if (!released && usage.current < usage.limit) {
                        usage.current++;
                        room[0] = true;
                    } else {
                        usage.rejected++;
                    }
                });
                counted = room[0];
                granted = grantWaiting();
            }
            complete(granted);
            return counted;
        }

        /** Why {@link #confirm()} found no room, for the client's error message. */
        public String fullMessage() {
            ClientUsage u = usageOf(client);
            return "client " + client + " has " + u.connections() + "/" + u.limit() + " connections";
        }

        public void release() {
            List<Waiter> granted;
            synchronized (lock) {
                if (released) {
                    return;
                }
                released = true;
                total.decrementAndGet();
                if (counted || promised) {
                    update(client, u -> {
                        if (counted) {
                            u.current--;
                        } else {
                            u.promised--;
                        }
                    });
                    promised = false;
                }
                granted = grantWaiting();
            }
            complete(granted);
        }
    }

    /** A refused connection; {@code message} is what the client reads. */
    public record Rejected(String client, String message) implements Admission {
    }

    /**
     * A client over budget in line for a slot ({@code maxWait} above zero). It ends exactly once: {@link #granted()}
     * completes with a slot (on the thread that freed it: the caller moves to its own thread), or the caller ends the
     * wait with {@link #timeOut()} (the wait is over: the refusal) or {@link #cancel()} (the client left). Quota
     * knows no clock but its ticker: the caller schedules the end of the wait.
     */
    public final class Waiter implements Admission {
        private final String client;
        private final boolean counted;
        private final long arrival;
        private final long since;
        private final CompletableFuture<Slot> granted = new CompletableFuture<>();
        /** Guarded by the quota's lock. */
        private volatile Ending ending = Ending.NONE;
        private Slot slot;
        /** When the wait ended (ticker), once it has. */
        private volatile long endedAt;

        private Waiter(String client, boolean counted, long arrival, long since) {
            this.client = client;
            this.counted = counted;
            this.arrival = arrival;
            this.since = since;
        }

        public String client() {
            return client;
        }

        /** Completes with the slot once one is free for this client; never completes if the wait ends first. */
        public CompletionStage<Slot> granted() {
            return granted;
        }

        /** How long the client has waited (so far, or until it got its slot or gave up). */
        public Duration waited() {
            long end = ending == Ending.NONE ? ticker.read() : endedAt;
            return Duration.ofNanos(Math.max(0, end - since));
        }

        /**
         * The wait is over: the client leaves the line and is refused (the answer, naming how long it waited), or
         * null if a slot was granted first (it comes through {@link #granted()}).
         */
        public Rejected timeOut() {
            synchronized (lock) {
                if (ending != Ending.NONE) {
                    return null;
                }
                leave(Ending.TIMED_OUT);
                waitTimeouts.incrementAndGet();
                Usage[] now = new Usage[1];
                update(client, u -> {
                    u.rejected++;
                    now[0] = u;
                });
                String why = now[0].hasRoom()
                        ? "Baton has " + settings.maxTotal() + "/" + settings.maxTotal() + " connections in all (client "
                        + client + " has " + now[0].current + "/" + now[0].limit + ")"
                        : "client " + client + " has " + now[0].current + "/" + now[0].limit + " connections";
                return new Rejected(client, why + " after waiting " + waited().toMillis() + " ms for one to close (quotas.wait)");
            }
        }

        /** The client left while waiting: it leaves the line at once, and a slot granted meanwhile goes back. */
        public void cancel() {
            Slot mine;
            synchronized (lock) {
                if (ending == Ending.NONE) {
                    leave(Ending.CANCELLED);
                    return;
                }
                mine = ending == Ending.GRANTED ? slot : null;
            }
            if (mine != null) {
                mine.release();
            }
        }

        /** Out of the line, under the lock. */
        private void leave(Ending how) {
            endedAt = ticker.read();
            ending = how;
            waiting.decrementAndGet();
            update(client, u -> {
                u.line.remove(this);
                u.waiting = u.line.size();
                if (u.line.isEmpty()) {
                    waitingClients.remove(client);
                }
            });
        }
    }

    private enum Ending { NONE, GRANTED, TIMED_OUT, CANCELLED }

    /** One client's usage, for status and metrics. */
    public record ClientUsage(String client, int connections, int limit, long rejected) {
    }

    private volatile Settings settings;
    private final Ticker ticker;
    /** Guards every change of the books, so both caps and the lines are decided together. */
    private final Object lock = new Object();
    private final AtomicInteger total = new AtomicInteger();
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicLong waitTimeouts = new AtomicLong();
    private final Cache<String, Usage> clients;
    /** Clients with a line, under the lock. */
    private final Map<String, Usage> waitingClients = new LinkedHashMap<>();
    private long arrivals;

    public ClientQuota(Settings settings) {
        this(settings, Ticker.systemTicker());
    }

    public ClientQuota(Settings settings, Ticker ticker) {
        this.settings = settings;
        this.ticker = ticker;
        this.clients = Caffeine.newBuilder()
                .ticker(ticker)
                .expireAfter(new Expiry<String, Usage>() {
                    @Override
                    public long expireAfterCreate(String key, Usage u, long now) {
                        return u.busy() ? Long.MAX_VALUE : idleNanos();
                    }

                    @Override
                    public long expireAfterUpdate(String key, Usage u, long now, long remaining) {
                        return u.busy() ? Long.MAX_VALUE : idleNanos();
                    }

                    @Override
                    public long expireAfterRead(String key, Usage u, long now, long remaining) {
                        return remaining;
                    }
                })
                .build();
    }

    public Settings settings() {
        return settings;
    }

    private long idleNanos() {
        return settings.idleExpiry().toNanos();
    }

    /**
     * Takes new budgets while clients hold slots (a config reload): every client's cap becomes its new limit at once.
     * No one is cut off: a client above a lowered cap keeps its connections and is refused new ones until it is below
     * it; a raised cap lets waiters in at once. A new idle expiry applies from each client's next change.
     *
     * @throws IllegalArgumentException if {@code next} has another {@link Key}: the books are kept by key, so what a
     *                                  client is cannot change while clients are counted
     */
    public void apply(Settings next) {
        if (next.key() != settings.key()) {
            throw new IllegalArgumentException("quotas.key cannot change from " + settings.key().configName() + " to "
                    + next.key().configName() + " while Baton runs (connections are counted by key)");
        }
        List<Waiter> granted;
        synchronized (lock) {
            settings = next;
            for (String client : List.copyOf(clients.asMap().keySet())) {
                clients.asMap().computeIfPresent(client, (k, u) -> {
                    u.limit = limitFor(k);
                    return u;
                });
            }
            granted = grantWaiting();
        }
        complete(granted);
    }

    public int limitFor(String client) {
        return settings.overrides().getOrDefault(client, settings.perClient());
    }

    /** Takes a slot for {@code client}, or says why not. */
    public Admission admit(String client) {
        return take(client, true, false);
    }

    /**
     * Takes a place in {@code max-total} for a client whose name is not trusted yet (a user name before the server
     * accepted the login), if the client has room now, without counting against the client: a connection that
     * merely claims a name cannot hold that name's slots. {@link Slot#confirm()} counts it once the name is
     * trusted; {@link Slot#release()} gives the place back either way.
     */
    public Admission reserve(String client) {
        return take(client, false, false);
    }

    /**
     * As {@link #admit}, but a client over budget gets a place in line ({@link Waiter}) if {@code maxWait} is above zero.
     */
    public Admission admitOrWait(String client) {
        return take(client, true, true);
    }

    /**
     * As {@link #reserve}, but a client over budget gets a place in line if {@code maxWait} is above zero. When its turn
     * comes, the slot it gets holds one of the client's slots until {@link Slot#confirm()} or {@link Slot#release()}:
     * otherwise every waiter would be let through by one freed slot and all but one refused after their login.
     */
    public Admission reserveOrWait(String client) {
        return take(client, false, true);
    }

    /** A slot if the client and the total have room, else a place in line or the refusal. */
    private Admission take(String client, boolean counted, boolean mayWait) {
        boolean queue = mayWait && settings.maxWait().compareTo(Duration.ZERO) > 0;
        Admission[] result = new Admission[1];
        synchronized (lock) {
            update(client, usage -> {
                boolean room = usage.hasRoom() && usage.line.isEmpty(); // never ahead of the client's own line
                if (room && total.get() < settings.maxTotal()) {
                    total.incrementAndGet();
                    if (counted) {
                        usage.current++;
                    }
                    result[0] = new Slot(client, counted, false);
                } else if (queue) {
                    Waiter w = new Waiter(client, counted, arrivals++, ticker.read());
                    usage.line.addLast(w);
                    usage.waiting = usage.line.size();
                    waitingClients.put(client, usage);
                    waiting.incrementAndGet();
                    result[0] = w;
                } else {
                    usage.rejected++;
                    result[0] = new Rejected(client, !usage.hasRoom()
                            ? "client " + client + " has " + usage.current + "/" + usage.limit + " connections"
                            : "Baton has " + settings.maxTotal() + "/" + settings.maxTotal()
                            + " connections in all (client " + client + " has " + usage.current + "/" + usage.limit + ")");
                }
            });
        }
        return result[0];
    }

    /**
     * Hands free room to waiters, under the lock: while the total has room, the longest waiter among the heads of
     * lines whose client has room. Returns those granted, to be told outside the lock.
     */
    private List<Waiter> grantWaiting() {
        List<Waiter> granted = List.of();
        while (total.get() < settings.maxTotal() && !waitingClients.isEmpty()) {
            Waiter next = null;
            for (Usage u : waitingClients.values()) {
                Waiter head = u.line.peekFirst();
                if (head != null && u.hasRoom() && (next == null || head.arrival < next.arrival)) {
                    next = head;
                }
            }
            if (next == null) {
                break;
            }
            Waiter w = next;
            w.leave(Ending.GRANTED);
            total.incrementAndGet();
            update(w.client, u -> {
                if (w.counted) {
                    u.current++;
                } else {
                    u.promised++;
                }
            });
            w.slot = new Slot(w.client, w.counted, !w.counted);
            if (granted.isEmpty()) {
                granted = new ArrayList<>();
            }
            granted.add(w);
        }
        return granted;
    }

    /** Tells waiters their slot, outside the lock (their callbacks may do anything). */
    private void complete(List<Waiter> granted) {
        for (Waiter w : granted) {
            w.granted.complete(w.slot);
        }
    }

    /** Changes a client's books inside the cache's compute, so its expiry is decided anew; under the lock. */
    private void update(String client, java.util.function.Consumer<Usage> change) {
        clients.asMap().compute(client, (k, u) -> {
            Usage usage = u == null ? new Usage(limitFor(k)) : u;
            change.accept(usage);
            return usage;
        });
    }

    /** Connections held now, all clients together. */
    public int total() {
        return total.get();
    }

    /** Clients waiting for a slot now, all together. */
    public int waiting() {
        return waiting.get();
    }

    /** Clients waiting now for one of {@code client}'s slots. */
    public int waitingFor(String client) {
        Usage u = clients.getIfPresent(client);
        return u == null ? 0 : u.waiting;
    }

    /** Clients refused because their wait ran out, since start. */
    public long waitTimeouts() {
        return waitTimeouts.get();
    }

    /** One client's usage, or zero connections and its limit if Baton does not remember it. */
    public ClientUsage usageOf(String client) {
        Usage u = clients.getIfPresent(client);
        return u == null ? new ClientUsage(client, 0, limitFor(client), 0) : new ClientUsage(client, u.current, u.limit, u.rejected);
    }

    /** Every client Baton still remembers, busiest first. */
    public List<ClientUsage> usage() {
        clients.cleanUp();
        return clients.asMap().entrySet().stream()
                .map(e -> new ClientUsage(e.getKey(), e.getValue().current, e.getValue().limit, e.getValue().rejected))
                .sorted(Comparator.comparingInt(ClientUsage::connections).reversed().thenComparing(ClientUsage::client))
                .toList();
    }
}

package dev.baton.routing;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;

import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Connection budgets at the door: at most {@code perClient} connections per client (an application server's
 * address by default, as the Rancher HA guide plans 50 per Rancher server) and {@code maxTotal} in all. A client
 * over budget is refused before any backend connection is opened. A client's entry is forgotten once it has had
 * no connection for {@code idleExpiry}, so memory and metric series stay bounded when addresses churn; an entry
 * with open connections never expires.
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
     */
    public record Settings(Key key, int perClient, int maxTotal, Map<String, Integer> overrides, Duration idleExpiry) {
        public Settings {
            overrides = Map.copyOf(overrides);
        }

        public static Settings defaults() {
            return new Settings(Key.CLIENT_ADDRESS, 50, 250, Map.of(), Duration.ofMinutes(10));
        }
    }

    /** A client's books; mutated only inside the cache's atomic compute. */
    private static final class Usage {
        final int limit;
        volatile int current;
        volatile long rejected;

        Usage(int limit) {
            this.limit = limit;
        }
    }

    /** The answer to a connection: a slot to give back exactly once, or the reason it was refused. */
    public sealed interface Admission {
    }

    /**
     * A granted connection. {@link #release()} may be called any number of times; it counts once. A slot from
     * {@link #reserve} counts against {@code max-total} only, until {@link #confirm()} counts it against its client.
     */
    public final class Slot implements Admission {
        private final String client;
        private final AtomicBoolean released = new AtomicBoolean();
        private volatile boolean counted;

        private Slot(String client, boolean counted) {
            this.client = client;
            this.counted = counted;
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
            boolean[] room = new boolean[1];
            clients.asMap().compute(client, (k, u) -> {
                Usage usage = u == null ? new Usage(limitFor(k)) : u;
                if (usage.current < usage.limit && !released.get()) {
                    usage.current++;
                    room[0] = true;
                } else {
                    usage.rejected++;
                }
                return usage;
            });
            counted = room[0];
            return counted;
        }

        /** Why {@link #confirm()} found no room, for the client's error message. */
        public String fullMessage() {
            ClientUsage u = usageOf(client);
            return "client " + client + " has " + u.connections() + "/" + u.limit() + " connections";
        }

        public void release() {
            if (released.compareAndSet(false, true)) {
                total.decrementAndGet();
                if (counted) {
                    clients.asMap().computeIfPresent(client, (k, u) -> {
                        u.current--;
                        return u;
                    });
                }
            }
        }
    }

    /** A refused connection; {@code message} is what the client reads. */
    public record Rejected(String client, String message) implements Admission {
    }

    /** One client's usage, for status and metrics. */
    public record ClientUsage(String client, int connections, int limit, long rejected) {
    }

    private final Settings settings;
    private final AtomicInteger total = new AtomicInteger();
    private final Cache<String, Usage> clients;

    public ClientQuota(Settings settings) {
        this(settings, Ticker.systemTicker());
    }

    public ClientQuota(Settings settings, Ticker ticker) {
        this.settings = settings;
        long idle = settings.idleExpiry().toNanos();
        this.clients = Caffeine.newBuilder()
                .ticker(ticker)
                .expireAfter(new Expiry<String, Usage>() {
                    @Override
                    public long expireAfterCreate(String key, Usage u, long now) {
                        return u.current > 0 ? Long.MAX_VALUE : idle;
                    }

                    @Override
                    public long expireAfterUpdate(String key, Usage u, long now, long remaining) {
                        return u.current > 0 ? Long.MAX_VALUE : idle;
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

    public int limitFor(String client) {
        return settings.overrides().getOrDefault(client, settings.perClient());
    }

    /** Takes a slot for {@code client}, or says why not. */
    public Admission admit(String client) {
        return take(client, true);
    }

    /**
     * Takes a place in {@code max-total} for a client whose name is not trusted yet (a user name before the server
     * accepted the login), if the client has room now, without counting against the client: a connection that
     * merely claims a name cannot hold that name's slots. {@link Slot#confirm()} counts it once the name is
     * trusted; {@link Slot#release()} gives the place back either way.
     */
    public Admission reserve(String client) {
        return take(client, false);
    }

    /** A place in {@code max-total} if the client has room, counted against the client now or only on confirm. */
    private Admission take(String client, boolean counted) {
        Admission[] result = new Admission[1];
        clients.asMap().compute(client, (k, u) -> {
            Usage usage = u == null ? new Usage(limitFor(k)) : u;
            if (usage.current >= usage.limit) {
                usage.rejected++;
                result[0] = new Rejected(k, "client " + k + " has " + usage.current + "/" + usage.limit + " connections");
            } else if (total.incrementAndGet() > settings.maxTotal()) {
                total.decrementAndGet();
                usage.rejected++;
                result[0] = new Rejected(k, "Baton has " + settings.maxTotal() + "/" + settings.maxTotal()
                        + " connections in all (client " + k + " has " + usage.current + "/" + usage.limit + ")");
            } else {
                if (counted) {
                    usage.current++;
                }
                result[0] = new Slot(k, counted);
            }
            return usage;
        });
        return result[0];
    }

    /** Connections held now, all clients together. */
    public int total() {
        return total.get();
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

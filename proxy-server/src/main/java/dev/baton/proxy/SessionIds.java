package dev.baton.proxy;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.random.RandomGenerator;

/**
 * The connection ids Baton announces in its greetings, one per live session of this instance, and the session each
 * names. Clients cancel a query by sending {@code KILL QUERY <id from the greeting>} on a second connection; this
 * is how Baton finds the session that id belongs to.
 *
 * <p>Ids are drawn at random from {@value #FIRST} to 2^32 - 1 (the greeting's field is 32 bits unsigned), above
 * any thread id a server reaches in practice, so a KILL naming a server thread id (from {@code CONNECTION_ID()}) is
 * never mistaken for one of Baton's. Drawn at random rather than counted, an id sent to the wrong Baton instance
 * (through a load balancer) almost never names a live session there, and a finished session's id is almost never
 * handed out again soon.
 */
final class SessionIds {
    static final long FIRST = 3_000_000_000L;
    static final long LAST = 0xFFFF_FFFFL;

    private final Map<Long, ClientSession> sessions = new ConcurrentHashMap<>();
    private final RandomGenerator random;

    SessionIds(RandomGenerator random) {
        this.random = random;
    }

    /** A new id for {@code session}, unique among this instance's live sessions. */
    long register(ClientSession session) {
        while (true) {
            long id = random.nextLong(FIRST, LAST + 1);
            if (sessions.putIfAbsent(id, session) == null) {
                return id;
            }
        }
    }

    /** The live session greeted with {@code id}, or null. */
    ClientSession find(long id) {
        return id < FIRST || id > LAST ? null : sessions.get(id);
    }

    /** {@code session} ended: its id may be drawn again. */
    void release(long id, ClientSession session) {
        sessions.remove(id, session);
    }

    int size() {
        return sessions.size();
    }
}

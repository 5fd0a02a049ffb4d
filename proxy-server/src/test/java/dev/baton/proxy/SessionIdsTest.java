package dev.baton.proxy;

import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.List;
import java.util.random.RandomGenerator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The connection ids in Baton's greetings: in their own range, never two live sessions with one id. */
class SessionIdsTest {

    @Test
    void drawsIdsAboveServerThreadIdsWithinTheGreetingsThirtyTwoBits() {
        SessionIds ids = new SessionIds(new java.util.SplittableRandom(1));
        for (int i = 0; i < 10_000; i++) {
            long id = ids.register(session());
            assertTrue(id >= 3_000_000_000L && id <= 0xFFFF_FFFFL, "id " + id);
        }
        assertEquals(10_000, ids.size(), "every id is another");
    }

    @Test
    void drawsAgainWhenTheIdBelongsToALiveSession() {
        ClientSession first = session();
        ClientSession second = session();
        SessionIds ids = new SessionIds(drawing(3_000_000_005L, 3_000_000_005L, 3_000_000_009L));

        assertEquals(3_000_000_005L, ids.register(first));
        assertEquals(3_000_000_009L, ids.register(second), "3000000005 is taken");
        assertSame(first, ids.find(3_000_000_005L));
        assertSame(second, ids.find(3_000_000_009L));
    }

    @Test
    void findsNoSessionOnceItEndedNorForIdsOutsideTheRange() {
        ClientSession session = session();
        SessionIds ids = new SessionIds(drawing(3_000_000_005L));
        long id = ids.register(session);

        ids.release(id, session());
        assertSame(session, ids.find(id), "only the session itself gives its id back");
        ids.release(id, session);
        assertNull(ids.find(id));
        assertNull(ids.find(42), "a server thread id");
        assertNull(ids.find(1L << 32));
    }

    private static ClientSession session() {
        return new ClientSession(null);
    }

    /** Draws the given ids in order. */
    private static RandomGenerator drawing(Long... draws) {
        ArrayDeque<Long> queue = new ArrayDeque<>(List.of(draws));
        return new RandomGenerator() {
            @Override
            public long nextLong() {
                throw new UnsupportedOperationException();
            }

            @Override
            public long nextLong(long origin, long bound) {
                long next = queue.removeFirst();
                assertTrue(next >= origin && next < bound);
                return next;
            }
        };
    }
}

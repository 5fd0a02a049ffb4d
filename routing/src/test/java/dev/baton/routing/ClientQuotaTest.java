package dev.baton.routing;

import com.github.benmanes.caffeine.cache.Ticker;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClientQuotaTest {
    private final AtomicLong nanos = new AtomicLong();
    private final Ticker ticker = nanos::get;

    private ClientQuota quota(int perClient, int maxTotal, Map<String, Integer> overrides) {
        return new ClientQuota(new ClientQuota.Settings(ClientQuota.Key.CLIENT_ADDRESS, perClient, maxTotal, overrides,
                Duration.ofMinutes(10)), ticker);
    }

    @Test
    void rejectsFiftyFirstConnectionFromSameClientNamingItsUsage() {
        ClientQuota q = quota(50, 250, Map.of());
        for (int i = 0; i < 50; i++) {
            assertInstanceOf(ClientQuota.Slot.class, q.admit("10.0.0.12"));
        }
        var r = assertInstanceOf(ClientQuota.Rejected.class, q.admit("10.0.0.12"));
        assertEquals("client 10.0.0.12 has 50/50 connections", r.message());
        assertInstanceOf(ClientQuota.Slot.class, q.admit("10.0.0.13"), "other clients are unaffected");
        assertEquals(new ClientQuota.ClientUsage("10.0.0.12", 50, 50, 1), q.usage().get(0));
    }

    @Test
    void overrideRaisesOneClientsLimit() {
        ClientQuota q = quota(2, 250, Map.of("10.0.0.12", 3));
        for (int i = 0; i < 3; i++) {
            assertInstanceOf(ClientQuota.Slot.class, q.admit("10.0.0.12"));
        }
        assertInstanceOf(ClientQuota.Rejected.class, q.admit("10.0.0.12"));
        assertEquals(3, q.limitFor("10.0.0.12"));
        assertEquals(2, q.limitFor("10.0.0.99"));
    }

    @Test
    void maxTotalCapsAllClientsTogether() {
        ClientQuota q = quota(10, 3, Map.of());
        q.admit("a");
        q.admit("b");
        q.admit("c");
        var r = assertInstanceOf(ClientQuota.Rejected.class, q.admit("d"));
        assertEquals("Baton has 3/3 connections in all (client d has 0/10)", r.message());
        assertEquals(3, q.total());
    }

    @Test
    void releasingTwiceGivesBackOneSlot() {
        ClientQuota q = quota(1, 10, Map.of());
        var slot = assertInstanceOf(ClientQuota.Slot.class, q.admit("a"));
        slot.release();
        slot.release();
        assertEquals(0, q.total());
        assertEquals(0, q.usage().get(0).connections());
        assertInstanceOf(ClientQuota.Slot.class, q.admit("a"));
        assertInstanceOf(ClientQuota.Rejected.class, q.admit("a"), "a double release must not make room for two");
    }

    @Test
    void idleClientsAreForgottenButBusyOnesNever() {
        ClientQuota q = quota(5, 100, Map.of());
        var idle = assertInstanceOf(ClientQuota.Slot.class, q.admit("idle"));
        idle.release();
        List<ClientQuota.Slot> held = new ArrayList<>();
        held.add(assertInstanceOf(ClientQuota.Slot.class, q.admit("busy")));
        nanos.addAndGet(Duration.ofMinutes(11).toNanos());
        List<String> remembered = q.usage().stream().map(ClientQuota.ClientUsage::client).toList();
        assertEquals(List.of("busy"), remembered);
        held.get(0).release();
        assertEquals(0, q.total());
        nanos.addAndGet(Duration.ofMinutes(11).toNanos());
        assertTrue(q.usage().isEmpty());
    }

    @Test
    void quotaKeysNameTheClientAsConfigured() {
        assertEquals("10.0.0.12", ClientQuota.Key.CLIENT_ADDRESS.of("10.0.0.12", "rancher"));
        assertEquals("rancher", ClientQuota.Key.USER.of("10.0.0.12", "rancher"));
        assertEquals("rancher@10.0.0.12", ClientQuota.Key.USER_AND_ADDRESS.of("10.0.0.12", "rancher"));
        assertEquals(ClientQuota.Key.USER_AND_ADDRESS, ClientQuota.Key.byConfigName("user-and-address"));
    }

    @Test
    void aReservedSlotCountsInTheTotalButNotAgainstItsClientUntilConfirmed() {
        ClientQuota q = new ClientQuota(new ClientQuota.Settings(ClientQuota.Key.USER, 2, 10, Map.of(),
                Duration.ofMinutes(10)), ticker);
        var claimers = new java.util.ArrayList<ClientQuota.Slot>();
        for (int i = 0; i < 5; i++) {
            claimers.add(assertInstanceOf(ClientQuota.Slot.class, q.reserve("app")));
        }
        assertEquals(5, q.total());
        assertEquals(0, q.usageOf("app").connections(), "claims alone hold none of app's slots");

        assertEquals(true, claimers.get(0).confirm());
        assertEquals(true, claimers.get(1).confirm());
        assertEquals(false, claimers.get(2).confirm(), "app is full once two logins were accepted");
        var r = assertInstanceOf(ClientQuota.Rejected.class, q.reserve("app"));
        assertEquals("client app has 2/2 connections", r.message());

        claimers.forEach(ClientQuota.Slot::release);
        assertEquals(0, q.total());
        assertEquals(0, q.usageOf("app").connections());
    }

    @Test
    void reservationsAreBoundByMaxTotal() {
        ClientQuota q = new ClientQuota(new ClientQuota.Settings(ClientQuota.Key.USER, 50, 2, Map.of(),
                Duration.ofMinutes(10)), ticker);
        q.reserve("a");
        q.reserve("b");
        var r = assertInstanceOf(ClientQuota.Rejected.class, q.reserve("c"));
        assertEquals("Baton has 2/2 connections in all (client c has 0/50)", r.message());
    }

    // ---- waiting for a slot (quotas.wait) ----------------------------------------------------------------------

    private ClientQuota waiting(ClientQuota.Key key, int perClient, int maxTotal) {
        return new ClientQuota(new ClientQuota.Settings(key, perClient, maxTotal, Map.of(), Duration.ofMinutes(10),
                Duration.ofSeconds(10)), ticker);
    }

    private static ClientQuota.Slot grantedSlot(ClientQuota.Waiter w) {
        return w.granted().toCompletableFuture().getNow(null);
    }

    @Test
    void withoutAWaitAClientOverItsBudgetIsRefusedAtOnceAsBefore() {
        ClientQuota q = quota(1, 10, Map.of());
        assertInstanceOf(ClientQuota.Slot.class, q.admitOrWait("a"));
        var r = assertInstanceOf(ClientQuota.Rejected.class, q.admitOrWait("a"));
        assertEquals("client a has 1/1 connections", r.message());
        assertEquals(0, q.waiting());
    }

    @Test
    void waitersOfOneClientGetItsFreedSlotsInArrivalOrder() {
        ClientQuota q = waiting(ClientQuota.Key.CLIENT_ADDRESS, 2, 250);
        var first = assertInstanceOf(ClientQuota.Slot.class, q.admitOrWait("10.0.0.12"));
        var second = assertInstanceOf(ClientQuota.Slot.class, q.admitOrWait("10.0.0.12"));
        var w1 = assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("10.0.0.12"));
        var w2 = assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("10.0.0.12"));
        assertInstanceOf(ClientQuota.Slot.class, q.admitOrWait("10.0.0.13"), "other clients are unaffected");
        assertEquals(2, q.waitingFor("10.0.0.12"));
        assertEquals(2, q.waiting());

        second.release();
        assertTrue(grantedSlot(w1) != null, "the longest waiter gets the slot");
        assertEquals(null, grantedSlot(w2));
        assertEquals(2, q.usageOf("10.0.0.12").connections(), "the slot changed hands, the budget holds");
        assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("10.0.0.12"), "a newcomer queues behind w2");

        first.release();
        assertTrue(grantedSlot(w2) != null);
        assertEquals(1, q.waiting());
        assertEquals(3, q.total(), "two for 10.0.0.12, one for 10.0.0.13");
    }

    @Test
    void aWaiterBlockedByMaxTotalGetsASlotAnyClientGivesBack() {
        ClientQuota q = waiting(ClientQuota.Key.CLIENT_ADDRESS, 10, 2);
        q.admitOrWait("a");
        var b = assertInstanceOf(ClientQuota.Slot.class, q.admitOrWait("b"));
        var c = assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("c"));
        assertEquals(2, q.total());

        b.release();
        assertTrue(grantedSlot(c) != null);
        assertEquals(2, q.total(), "never above max-total");
        assertEquals(1, q.usageOf("c").connections());
    }

    @Test
    void whenBothCapsAreFullTheFreedPlaceGoesToTheLongestWaiterWhoseOwnBudgetHasRoom() {
        ClientQuota q = waiting(ClientQuota.Key.CLIENT_ADDRESS, 1, 2);
        var a = assertInstanceOf(ClientQuota.Slot.class, q.admitOrWait("a"));
        var b = assertInstanceOf(ClientQuota.Slot.class, q.admitOrWait("b"));
        var bWaiter = assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("b")); // b full, total full
        var cWaiter = assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("c")); // total full

        a.release(); // room in the total, none in b's budget: c, though it came later
        assertEquals(null, grantedSlot(bWaiter));
        assertTrue(grantedSlot(cWaiter) != null);

        var aWaiter = assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("a"));
        b.release(); // b's own slot and a place in the total: b's waiter came before a's
        assertTrue(grantedSlot(bWaiter) != null);
        assertEquals(null, grantedSlot(aWaiter));
        assertEquals(2, q.total());
    }

    @Test
    void aSlotAClientGivesBackGoesToItsOwnOlderWaiterBeforeYoungerWaitersForTheTotal() {
        ClientQuota q = waiting(ClientQuota.Key.CLIENT_ADDRESS, 1, 2);
        var a = assertInstanceOf(ClientQuota.Slot.class, q.admitOrWait("a"));
        q.admitOrWait("b");
        var aWaiter = assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("a"));
        var cWaiter = assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("c"));
        a.release();
        assertTrue(grantedSlot(aWaiter) != null);
        assertEquals(null, grantedSlot(cWaiter));
    }

    @Test
    void aClientThatLeavesWhileWaitingLeavesTheLineAtOnceAndTakesNoSlot() {
        ClientQuota q = waiting(ClientQuota.Key.CLIENT_ADDRESS, 1, 250);
        var held = assertInstanceOf(ClientQuota.Slot.class, q.admitOrWait("a"));
        var gone = assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("a"));
        var next = assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("a"));
        gone.cancel();
        assertEquals(1, q.waitingFor("a"));
        held.release();
        assertEquals(null, grantedSlot(gone), "no phantom waiter takes the slot");
        assertTrue(grantedSlot(next) != null);
        assertEquals(null, gone.timeOut(), "a wait ends once");
        grantedSlot(next).release();
        assertEquals(0, q.total());
        assertEquals(0, q.waiting());
    }

    @Test
    void aClientThatLeavesJustAfterItsSlotWasGrantedGivesTheSlotBack() {
        ClientQuota q = waiting(ClientQuota.Key.CLIENT_ADDRESS, 1, 250);
        var held = assertInstanceOf(ClientQuota.Slot.class, q.admitOrWait("a"));
        var w = assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("a"));
        held.release();
        assertEquals(1, q.total());
        w.cancel();
        assertEquals(0, q.total());
        assertEquals(0, q.usageOf("a").connections());
    }

    @Test
    void aWaiterWhoseTimeRunsOutIsRefusedNamingHowLongItWaited() {
        ClientQuota q = waiting(ClientQuota.Key.CLIENT_ADDRESS, 1, 250);
        var held = assertInstanceOf(ClientQuota.Slot.class, q.admitOrWait("a"));
        var w = assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("a"));
        nanos.addAndGet(Duration.ofSeconds(10).toNanos());
        ClientQuota.Rejected r = w.timeOut();
        assertEquals("client a has 1/1 connections after waiting 10000 ms for one to close (quotas.wait)", r.message());
        assertEquals(0, q.waiting());
        assertEquals(1, q.waitTimeouts());
        assertEquals(1, q.usageOf("a").rejected());
        held.release();
        assertEquals(null, grantedSlot(w), "a refused waiter gets nothing later");
        assertEquals(0, q.total());
    }

    @Test
    void aWaiterRefusedForTheTotalSaysSo() {
        ClientQuota q = waiting(ClientQuota.Key.CLIENT_ADDRESS, 5, 1);
        q.admitOrWait("a");
        var w = assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("b"));
        nanos.addAndGet(Duration.ofMillis(2500).toNanos());
        assertEquals("Baton has 1/1 connections in all (client b has 0/5) after waiting 2500 ms for one to close "
                + "(quotas.wait)", w.timeOut().message());
    }

    @Test
    void aWaiterForAUserHoldsTheFreedSlotUntilItsLoginIsConfirmed() {
        ClientQuota q = waiting(ClientQuota.Key.USER, 1, 250);
        var held = assertInstanceOf(ClientQuota.Slot.class, q.reserveOrWait("app"));
        assertTrue(held.confirm());
        var w1 = assertInstanceOf(ClientQuota.Waiter.class, q.reserveOrWait("app"));
        var w2 = assertInstanceOf(ClientQuota.Waiter.class, q.reserveOrWait("app"));
        held.release();
        ClientQuota.Slot s1 = grantedSlot(w1);
        assertTrue(s1 != null);
        assertEquals(null, grantedSlot(w2), "one freed slot lets one waiter through, not all of them");
        assertTrue(s1.confirm());
        assertEquals(1, q.usageOf("app").connections());
        s1.release();
        ClientQuota.Slot s2 = grantedSlot(w2);
        assertTrue(s2 != null);
        s2.release(); // its login failed: the slot goes back unconfirmed
        assertEquals(0, q.total());
        assertInstanceOf(ClientQuota.Slot.class, q.reserveOrWait("app"), "nothing held back for anyone");
    }

    @Test
    void aClientWithWaitersIsNeverForgotten() {
        ClientQuota q = waiting(ClientQuota.Key.CLIENT_ADDRESS, 1, 250);
        var held = assertInstanceOf(ClientQuota.Slot.class, q.admitOrWait("a"));
        var w = assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("a"));
        held.release();
        grantedSlot(w).release();
        var again = assertInstanceOf(ClientQuota.Slot.class, q.admitOrWait("b"));
        var waiter = assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("b"));
        again.release(); // waiter holds b's slot now
        grantedSlot(waiter).release();
        assertInstanceOf(ClientQuota.Slot.class, q.admitOrWait("c"));
        assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("c"));
        nanos.addAndGet(Duration.ofMinutes(11).toNanos());
        assertEquals(List.of("c"), q.usage().stream().map(ClientQuota.ClientUsage::client).toList());
        assertEquals(1, q.waitingFor("c"));
    }

    @Test
    void aSeededSimulationOfArrivalsAndDeparturesKeepsBothCapsAndEveryLineInOrder() {
        for (ClientQuota.Key key : List.of(ClientQuota.Key.CLIENT_ADDRESS, ClientQuota.Key.USER)) {
            for (long seed = 1; seed <= 20; seed++) {
                simulate(key, new java.util.Random(seed));
            }
        }
    }

    /** One waiter in the simulation, and how its wait ended (each must end exactly once). */
    private static final class Waiting {
        final String client;
        final long arrival;
        final ClientQuota.Waiter waiter;
        int endings;

        Waiting(String client, long arrival, ClientQuota.Waiter waiter) {
            this.client = client;
            this.arrival = arrival;
            this.waiter = waiter;
        }
    }

    private void simulate(ClientQuota.Key key, java.util.Random random) {
        String[] clients = {"a", "b", "c", "d"};
        int perClient = 1 + random.nextInt(4);
        int maxTotal = 2 + random.nextInt(8);
        ClientQuota q = new ClientQuota(new ClientQuota.Settings(key, perClient, maxTotal, Map.of("d", perClient + 2),
                Duration.ofMinutes(10), Duration.ofSeconds(5)), ticker);
        boolean byUser = key == ClientQuota.Key.USER;
        List<ClientQuota.Slot> held = new ArrayList<>();
        List<Waiting> inLine = new ArrayList<>();
        List<Waiting> all = new ArrayList<>();
        Map<String, Long> lastGrantedArrival = new java.util.HashMap<>();
        long arrivals = 0;
        String where = key + " seed run perClient=" + perClient + " maxTotal=" + maxTotal;
        for (int step = 0; step < 3_000; step++) {
            int op = random.nextInt(10);
            if (op < 4) {
                String c = clients[random.nextInt(clients.length)];
                ClientQuota.Admission a = byUser ? q.reserveOrWait(c) : q.admitOrWait(c);
                long arrival = arrivals++;
                if (a instanceof ClientQuota.Slot s) {
                    held.add(s);
                } else {
                    Waiting w = new Waiting(c, arrival, (ClientQuota.Waiter) a);
                    w.waiter.granted().thenAccept(s -> {
                        w.endings++;
                        held.add(s);
                        Long before = lastGrantedArrival.put(w.client, w.arrival);
                        assertTrue(before == null || before < w.arrival, where + ": " + w.client + "'s line out of order");
                    });
                    inLine.add(w);
                    all.add(w);
                }
            } else if (op < 7 && !held.isEmpty()) {
                held.remove(random.nextInt(held.size())).release();
            } else if (op == 7 && byUser && !held.isEmpty()) {
                ClientQuota.Slot s = held.get(random.nextInt(held.size()));
                if (!s.confirm()) {
                    held.remove(s);
                    s.release(); // refused after login
                }
            } else if (op == 8 && !inLine.isEmpty()) {
                Waiting w = inLine.get(random.nextInt(inLine.size()));
                if (w.waiter.timeOut() != null) {
                    w.endings++;
                }
            } else if (op == 9 && !inLine.isEmpty()) {
                Waiting w = inLine.get(random.nextInt(inLine.size()));
                boolean wasGranted = w.waiter.granted().toCompletableFuture().isDone();
                w.waiter.cancel();
                if (!wasGranted) {
                    w.endings++;
                } else {
                    held.remove(w.waiter.granted().toCompletableFuture().join()); // it gave its slot back
                }
            }
            inLine.removeIf(w -> w.endings > 0);

            assertTrue(q.total() <= maxTotal, where + ": total " + q.total());
            assertEquals(held.size(), q.total(), where + ": every held slot counted once");
            int waitingNow = 0;
            for (String c : clients) {
                ClientQuota.ClientUsage u = q.usageOf(c);
                assertTrue(u.connections() <= u.limit(), where + ": " + u);
                waitingNow += q.waitingFor(c);
            }
            assertEquals(inLine.size(), waitingNow, where);
            assertEquals(inLine.size(), q.waiting(), where);
            if (!byUser && q.total() < maxTotal) {
                for (String c : clients) {
                    assertTrue(q.waitingFor(c) == 0 || q.usageOf(c).connections() >= q.usageOf(c).limit(),
                            where + ": " + c + " waits while its budget and the total have room");
                }
            }
        }
        for (Waiting w : List.copyOf(inLine)) {
            if (w.waiter.timeOut() != null) {
                w.endings++;
            }
        }
        List.copyOf(held).forEach(ClientQuota.Slot::release);
        for (Waiting w : all) {
            assertEquals(1, w.endings, where + ": every wait ends exactly once");
        }
        assertEquals(0, q.total(), where);
        assertEquals(0, q.waiting(), where);
    }

    // ---- new settings while clients hold slots (config reload) ------------------------------------------------

    @Test
    void aLoweredCapRefusesNewConnectionsButKeepsTheOpenOnes() {
        ClientQuota q = quota(3, 250, Map.of());
        for (int i = 0; i < 3; i++) {
            assertInstanceOf(ClientQuota.Slot.class, q.admit("10.0.0.12"));
        }
        q.apply(new ClientQuota.Settings(ClientQuota.Key.CLIENT_ADDRESS, 2, 250, Map.of(), Duration.ofMinutes(10)));

        var r = assertInstanceOf(ClientQuota.Rejected.class, q.admit("10.0.0.12"));
        assertEquals("client 10.0.0.12 has 3/2 connections", r.message());
        assertEquals(3, q.total(), "no open connection lost its slot");
        assertEquals(2, q.limitFor("10.0.0.99"));
    }

    @Test
    void aRaisedCapAdmitsAClientThatWasFullAndLetsItsWaiterIn() {
        ClientQuota q = waiting(ClientQuota.Key.CLIENT_ADDRESS, 1, 250);
        assertInstanceOf(ClientQuota.Slot.class, q.admitOrWait("a"));
        var waiter = assertInstanceOf(ClientQuota.Waiter.class, q.admitOrWait("a"));

        q.apply(new ClientQuota.Settings(ClientQuota.Key.CLIENT_ADDRESS, 3, 250, Map.of("b", 5), Duration.ofMinutes(10),
                Duration.ofSeconds(10)));

        assertTrue(grantedSlot(waiter) != null, "the waiter got the new room at once");
        assertInstanceOf(ClientQuota.Slot.class, q.admitOrWait("a"));
        assertEquals(new ClientQuota.ClientUsage("a", 3, 3, 0), q.usageOf("a"));
        assertEquals(5, q.limitFor("b"));
    }

    @Test
    void aLoweredTotalRefusesNewConnectionsOnly() {
        ClientQuota q = quota(10, 3, Map.of());
        q.admit("a");
        q.admit("b");
        q.apply(new ClientQuota.Settings(ClientQuota.Key.CLIENT_ADDRESS, 10, 2, Map.of(), Duration.ofMinutes(10)));
        var r = assertInstanceOf(ClientQuota.Rejected.class, q.admit("c"));
        assertEquals("Baton has 2/2 connections in all (client c has 0/10)", r.message());
        assertEquals(2, q.total());
    }

    @Test
    void theKeyCannotChangeWhileClientsAreCounted() {
        ClientQuota q = quota(2, 250, Map.of());
        q.admit("10.0.0.12");
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> q.apply(
                new ClientQuota.Settings(ClientQuota.Key.USER, 5, 250, Map.of(), Duration.ofMinutes(10))));
        assertEquals("quotas.key cannot change from client-address to user while Baton runs (connections are counted "
                + "by key)", e.getMessage());
        assertEquals(2, q.limitFor("10.0.0.12"), "the old settings stay");
    }
}

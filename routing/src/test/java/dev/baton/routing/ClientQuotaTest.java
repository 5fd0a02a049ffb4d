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
}

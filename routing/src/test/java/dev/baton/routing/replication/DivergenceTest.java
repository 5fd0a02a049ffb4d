package dev.baton.routing.replication;

import dev.baton.routing.replication.NodeRecord.Promotion;
import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class DivergenceTest {
    private static final Instant AT = Instant.parse("2026-11-01T10:00:00Z");

    /** db2 (server 2) was promoted holding 0-1-10 and has written 0-2-11 .. 0-2-20 since. */
    private static final ReplicationNodeState PROMOTED = Check.at(AT, 2).holds("0-2-20").build();
    private static final Promotion AT_10 = new Promotion(6, "db2", GtidPosition.parse("0-1-10"));

    private static String errant(String node, ReplicationNodeState primary, Promotion promotion) {
        return Divergence.errant(GtidPosition.parse(node), "db2", primary, promotion);
    }

    @Test
    void aNodeBehindThePrimaryInTheSameServersHistoryHoldsNothingErrant() {
        assertNull(errant("0-2-15", PROMOTED, AT_10));
        assertNull(errant("", PROMOTED, AT_10), "an empty node holds nothing");
        assertNull(errant("0-2-20", PROMOTED, AT_10), "the same position");
    }

    @Test
    void anOldPrimaryThatStoppedAtThePromotionPointHoldsNothingErrant() {
        assertNull(errant("0-1-10", PROMOTED, AT_10));
        assertNull(errant("0-1-7", PROMOTED, AT_10), "before the promotion point");
    }

    @Test
    void anOldPrimaryWithTransactionsPastThePromotionPointHoldsErrantOnes() {
        assertEquals("it holds 0-1-11, written by server 1 after the primary was promoted at 0-1-10",
                errant("0-1-11", PROMOTED, AT_10));
    }

    @Test
    void aNodeAheadOfThePrimaryHoldsErrantTransactions() {
        assertEquals("it holds up to 0-1-21, the primary only up to 0-2-20", errant("0-1-21", PROMOTED, AT_10));
    }

    @Test
    void theSameSequenceFromAnotherServerIsErrant() {
        assertEquals("it holds 0-1-20 where the primary holds 0-2-20", errant("0-1-20", PROMOTED, AT_10));
    }

    @Test
    void aDomainThePrimaryHasNothingInIsErrant() {
        assertEquals("it holds 1-3-4 in domain 1, where the primary has nothing", errant("0-2-15,1-3-4", PROMOTED, AT_10));
    }

    @Test
    void thePrimaryCurrentPositionCountsAsHeldToo() {
        ReplicationNodeState applied = Check.at(AT, 2).binlog("0-2-20").current("0-2-20,1-3-4").build();
        assertNull(errant("1-3-4", applied, AT_10));
    }

    @Test
    void aPromotionOfAnotherNodeSaysNothingAboutTransactionsFromOtherServers() {
        Promotion ofDb3 = new Promotion(6, "db3", GtidPosition.parse("0-1-10"));
        assertNull(errant("0-1-11", PROMOTED, ofDb3), "positions alone cannot tell; MariaDB's 1236 backs this up");
        assertNull(errant("0-1-11", PROMOTED, null));
    }
}

package dev.baton.routing.replication;

import dev.baton.routing.replication.GtidPosition.Gtid;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GtidPositionTest {

    @Test
    void emptyTextNullAndBlankAreTheEmptyPosition() {
        assertSame(GtidPosition.EMPTY, GtidPosition.parse(""));
        assertSame(GtidPosition.EMPTY, GtidPosition.parse(null));
        assertSame(GtidPosition.EMPTY, GtidPosition.parse(" \n"));
        assertTrue(GtidPosition.EMPTY.isEmpty());
        assertEquals("", GtidPosition.EMPTY.toString());
    }

    @Test
    void parsesOneDomain() {
        GtidPosition p = GtidPosition.parse("0-1-10");
        assertEquals(Optional.of(new Gtid(0, 1, 10)), p.get(0));
        assertEquals(Optional.empty(), p.get(1));
        assertFalse(p.isEmpty());
        assertEquals("0-1-10", p.toString());
    }

    @Test
    void parsesSeveralDomainsInAnyOrderWithWhitespaceAndPrintsThemInDomainOrder() {
        GtidPosition p = GtidPosition.parse("2-3-7,\n0-1-10, 1-2-5");
        assertEquals(List.of(0L, 1L, 2L), List.copyOf(p.byDomain().keySet()));
        assertEquals(new Gtid(1, 2, 5), p.get(1).orElseThrow());
        assertEquals("0-1-10,1-2-5,2-3-7", p.toString());
        assertEquals(p, GtidPosition.parse("0-1-10,1-2-5,2-3-7"));
        assertEquals(p.hashCode(), GtidPosition.parse("0-1-10,1-2-5,2-3-7").hashCode());
    }

    @Test
    void acceptsTheLargestNumbersMariaDbCanWrite() {
        GtidPosition p = GtidPosition.parse("4294967295-4294967295-18446744073709551615");
        Gtid gtid = p.get(4294967295L).orElseThrow();
        assertEquals(4294967295L, gtid.serverId());
        assertEquals("18446744073709551615", Long.toUnsignedString(gtid.sequence()));
        assertEquals("4294967295-4294967295-18446744073709551615", p.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"0-1", "0-1-2-3", "0-1-", "-1-2", "a-1-2", "0-x-2", "0-1-2x", "0-1-+2", "0--1-2", ",",
            "0-1-2,", "0-1-2,,1-2-3", "0 1 2", "0-1-2;1-2-3", "4294967296-1-2", "0-4294967296-2",
            "0-1-18446744073709551616", "99999999999999999999-1-2"})
    void rejectsMalformedTextNamingIt(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> GtidPosition.parse(text));
        assertTrue(e.getMessage().startsWith("malformed GTID position '" + text + "': "), e.getMessage());
    }

    @Test
    void rejectsADomainGivenTwice() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GtidPosition.parse("0-1-10,0-2-11"));
        assertEquals("malformed GTID position '0-1-10,0-2-11': domain 0 appears twice (0-1-10 and 0-2-11)",
                e.getMessage());
    }

    @Test
    void everyPositionContainsTheEmptyOneAndItself() {
        GtidPosition p = GtidPosition.parse("0-1-10,1-2-5");
        assertTrue(p.contains(GtidPosition.EMPTY));
        assertTrue(GtidPosition.EMPTY.contains(GtidPosition.EMPTY));
        assertTrue(p.contains(p));
        assertFalse(p.isBehind(p));
        assertFalse(GtidPosition.EMPTY.contains(p));
        assertTrue(GtidPosition.EMPTY.isBehind(p));
    }

    @Test
    void aHigherSequenceContainsALowerOneWhicheverServerWroteIt() {
        GtidPosition primary = GtidPosition.parse("0-1-10");
        GtidPosition replica = GtidPosition.parse("0-1-8");
        assertTrue(primary.contains(replica));
        assertFalse(replica.contains(primary));
        assertTrue(replica.isBehind(primary));
        assertFalse(primary.isBehind(replica));
        assertTrue(GtidPosition.parse("0-2-11").contains(primary), "server 2 wrote 11 after server 1 wrote 10");
    }

    @Test
    void comparesSequencesAsUnsigned() {
        GtidPosition huge = GtidPosition.parse("0-1-18446744073709551615");
        GtidPosition small = GtidPosition.parse("0-1-1");
        assertTrue(huge.contains(small));
        assertFalse(small.contains(huge));
    }

    @Test
    void containsOnlyIfEveryDomainOfTheOtherIsCovered() {
        GtidPosition both = GtidPosition.parse("0-1-10,1-2-5");
        GtidPosition firstOnly = GtidPosition.parse("0-1-12");
        assertFalse(firstOnly.contains(both), "domain 1 is missing");
        assertFalse(both.contains(firstOnly), "domain 0 is behind");
        assertTrue(both.isBehind(firstOnly));
        assertTrue(firstOnly.isBehind(both));
        assertTrue(GtidPosition.parse("0-1-12,1-2-5").contains(both));
        assertTrue(GtidPosition.parse("0-1-12,1-2-5,7-3-1").contains(both), "an extra domain does no harm");
    }

    @Test
    void theSameSequenceFromDifferentServersIsADivergenceNeitherContains() {
        GtidPosition a = GtidPosition.parse("0-1-10,1-1-3");
        GtidPosition b = GtidPosition.parse("0-2-10,1-1-3");
        assertFalse(a.contains(b));
        assertFalse(b.contains(a));
        assertTrue(a.isBehind(b));
        assertNotEquals(a, b);
        assertEquals(Set.of(0L), a.divergedDomains(b));
        assertEquals(Set.of(1L), a.divergedDomains(GtidPosition.parse("0-1-11,1-2-3")));
    }

    @Test
    void positionsBuiltFromGtidsEqualParsedOnes() {
        assertEquals(GtidPosition.parse("0-1-10,1-2-5"), GtidPosition.of(new Gtid(1, 2, 5), new Gtid(0, 1, 10)));
        assertThrows(IllegalArgumentException.class, () -> GtidPosition.of(new Gtid(0, 1, 1), new Gtid(0, 2, 2)));
    }
}

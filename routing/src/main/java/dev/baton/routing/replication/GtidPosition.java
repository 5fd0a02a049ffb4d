package dev.baton.routing.replication;

import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * A MariaDB GTID position such as {@code @@gtid_binlog_pos} or {@code Gtid_IO_Pos}: for each replication domain, the
 * last transaction seen, as {@code domain-server_id-sequence}, comma-separated. Comparing two positions tells whether
 * one node has everything another has, which is how a replica's progress is judged without binlog file names.
 *
 * <p>Within a domain, sequence numbers only grow (MariaDB enforces it with {@code gtid_strict_mode}), so the higher
 * sequence is the later transaction whichever server wrote it. Two positions with the same sequence in a domain but
 * different server ids hold different transactions under the same number: their histories have diverged.
 *
 * @see <a href="https://mariadb.com/kb/en/gtid/">MariaDB: Global Transaction ID</a>
 */
public final class GtidPosition {

    /** The position of a server that has no transactions in any domain (MariaDB reports an empty string). */
    public static final GtidPosition EMPTY = new GtidPosition(new TreeMap<>());

    private static final long MAX_UINT32 = 0xFFFF_FFFFL;

    private final SortedMap<Long, Gtid> byDomain;

    /**
     * One global transaction id.
     *
     * @param domain   the replication domain ({@code gtid_domain_id}, 32-bit unsigned)
     * @param serverId the server that wrote it ({@code server_id}, 32-bit unsigned)
     * @param sequence the sequence number in its domain (64-bit unsigned: compare with {@link Long#compareUnsigned})
     */
    public record Gtid(long domain, long serverId, long sequence) {
        @Override
        public String toString() {
            return domain + "-" + serverId + "-" + Long.toUnsignedString(sequence);
        }
    }

    private GtidPosition(SortedMap<Long, Gtid> byDomain) {
        this.byDomain = Collections.unmodifiableSortedMap(byDomain);
    }

    /**
     * Parses a position as MariaDB prints it: {@code ""} (nothing yet), {@code "0-1-10"}, or several domains joined
     * by commas ({@code "0-1-10,1-2-5"}), with optional whitespace or newlines around each entry. Null reads as empty.
     *
     * @throws IllegalArgumentException naming the text and the bad entry, if an entry is not three unsigned numbers
     *                                  {@code domain-server_id-sequence} in range, or a domain appears twice
     */
    public static GtidPosition parse(String text) {
        if (text == null || text.isBlank()) {
            return EMPTY;
        }
        SortedMap<Long, Gtid> byDomain = new TreeMap<>();
        for (String entry : text.split(",", -1)) {
            Gtid gtid = parseEntry(text, entry.strip());
            Gtid earlier = byDomain.put(gtid.domain(), gtid);
            if (earlier != null) {
                throw malformed(text, "domain " + gtid.domain() + " appears twice (" + earlier + " and " + gtid + ")");
            }
        }
        return new GtidPosition(byDomain);
    }

    /** A position with exactly these GTIDs, at most one per domain. */
    public static GtidPosition of(Gtid... gtids) {
        SortedMap<Long, Gtid> byDomain = new TreeMap<>();
        for (Gtid gtid : gtids) {
            if (byDomain.put(gtid.domain(), gtid) != null) {
                throw new IllegalArgumentException("domain " + gtid.domain() + " given twice");
            }
        }
        return new GtidPosition(byDomain);
    }

    public boolean isEmpty() {
        return byDomain.isEmpty();
    }

    /** The last transaction of {@code domain}, if this position has one. */
    public Optional<Gtid> get(long domain) {
        return Optional.ofNullable(byDomain.get(domain));
    }

    /** The GTIDs by domain, in domain order. */
    public Map<Long, Gtid> byDomain() {
        return byDomain;
    }

    /**
     * True if a server at this position has applied everything a server at {@code other} has: for every domain of
     * {@code other}, this position has the same GTID or a higher sequence. Every position contains {@link #EMPTY};
     * a position contains itself. False when a domain has diverged (same sequence, different server id).
     */
    public boolean contains(GtidPosition other) {
        for (Gtid theirs : other.byDomain.values()) {
            Gtid ours = byDomain.get(theirs.domain());
            if (ours == null) {
                return false;
            }
            int order = Long.compareUnsigned(ours.sequence(), theirs.sequence());
            if (order < 0 || order == 0 && ours.serverId() != theirs.serverId()) {
                return false;
            }
        }
        return true;
    }

    /**
     * True if {@code other} has a transaction this position lacks in some domain: a server here would still have
     * to apply something to reach {@code other}. The same as {@code !contains(other)}, so it is also true when a
     * domain has diverged; it does not mean that {@code other} contains this position.
     */
    public boolean isBehind(GtidPosition other) {
        return !contains(other);
    }

    /**
     * The later of the two positions in every domain (by sequence; on equal sequences this position's GTID): what a
     * server would hold after receiving both. Used to name a catch-up target, never to judge divergence.
     */
    public GtidPosition union(GtidPosition other) {
        SortedMap<Long, Gtid> merged = new TreeMap<>(byDomain);
        for (Gtid theirs : other.byDomain.values()) {
            merged.merge(theirs.domain(), theirs, (a, b) -> Long.compareUnsigned(b.sequence(), a.sequence()) > 0 ? b : a);
        }
        return new GtidPosition(merged);
    }

    /** The domains in which the two positions hold different transactions under the same sequence number. */
    public Set<Long> divergedDomains(GtidPosition other) {
        return byDomain.values().stream()
                .filter(ours -> {
                    Gtid theirs = other.byDomain.get(ours.domain());
                    return theirs != null && theirs.sequence() == ours.sequence() && theirs.serverId() != ours.serverId();
                })
                .map(Gtid::domain)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GtidPosition other && byDomain.equals(other.byDomain);
    }

    @Override
    public int hashCode() {
        return Objects.hash(byDomain);
    }

    /** As MariaDB prints it, domains in ascending order; empty for {@link #EMPTY}. */
    @Override
    public String toString() {
        return byDomain.values().stream().map(Gtid::toString).collect(Collectors.joining(","));
    }

    private static Gtid parseEntry(String text, String entry) {
        String[] parts = entry.split("-", -1);
        if (parts.length != 3) {
            throw malformed(text, "'" + entry + "' is not domain-server_id-sequence");
        }
        long domain = unsigned32(text, entry, "domain", parts[0]);
        long serverId = unsigned32(text, entry, "server_id", parts[1]);
        long sequence;
        try {
            sequence = Long.parseUnsignedLong(digits(text, entry, "sequence", parts[2]));
        } catch (NumberFormatException e) {
            throw malformed(text, "sequence '" + parts[2] + "' in '" + entry + "' is beyond 64 bits");
        }
        return new Gtid(domain, serverId, sequence);
    }

    private static long unsigned32(String text, String entry, String what, String part) {
        String digits = digits(text, entry, what, part);
        if (digits.length() > 10 || Long.parseLong(digits) > MAX_UINT32) {
            throw malformed(text, what + " '" + part + "' in '" + entry + "' is beyond 32 bits");
        }
        return Long.parseLong(digits);
    }

    private static String digits(String text, String entry, String what, String part) {
        if (part.isEmpty() || !part.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw malformed(text, what + " '" + part + "' in '" + entry + "' is not an unsigned number");
        }
        return part;
    }

    private static IllegalArgumentException malformed(String text, String why) {
        return new IllegalArgumentException("malformed GTID position '" + text + "': " + why);
    }
}

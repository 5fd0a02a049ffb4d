package dev.baton.routing;

import java.util.Arrays;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The kinds of cluster the config may name under {@code cluster.type}, each with the factory that builds it.
 * Galera and primary/replica are added here beside {@code single}, each as its own {@link ClusterTopology}.
 */
public enum TopologyType {
    SINGLE("single", SingleNodeTopology::new),
    GALERA("galera", dev.baton.routing.galera.GaleraTopology::new),
    PRIMARY_REPLICA("primary-replica", dev.baton.routing.replication.ReplicationTopology::new);

    private final String configName;
    private final Function<ClusterSpec, ClusterTopology> factory;

    TopologyType(String configName, Function<ClusterSpec, ClusterTopology> factory) {
        this.configName = configName;
        this.factory = factory;
    }

    public String configName() {
        return configName;
    }

    public ClusterTopology create(ClusterSpec spec) {
        return factory.apply(spec);
    }

    /**
     * @throws IllegalArgumentException naming the known types when {@code name} is not one
     */
    public static TopologyType byConfigName(String name) {
        for (TopologyType type : values()) {
            if (type.configName.equals(name)) {
                return type;
            }
        }
        throw new IllegalArgumentException("unknown cluster type '" + name + "' (known: " + known() + ")");
    }

    public static String known() {
        return Arrays.stream(values()).map(TopologyType::configName).collect(Collectors.joining(", "));
    }
}

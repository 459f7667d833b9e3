package dev.llamaserve.ops.limits;

/**
 * Where the per-client windows live: this process ({@link LocalQuotas}) or Redis, shared by every replica
 * ({@link RedisQuotas}). Every window is a fixed one-minute window: {@code limit} permits, all given back at
 * the window's end.
 */
public interface QuotaStore extends AutoCloseable {

    /**
     * Takes {@code permits} from {@code client}'s {@code kind} window if that many are left, else takes none.
     * {@code permits == 0} only reads the window.
     */
    Window acquire(String client, LimitKind kind, long limit, long permits);

    /** Whether {@link #acquire} may block on the network (then it is called off the event loop). */
    default boolean remote() {
        return false;
    }

    @Override
    default void close() {}
}

/* kc error codes.
 *
 * kc_err_t holds Apache Kafka's protocol error codes (same numbers, positive,
 * plus UNKNOWN_SERVER_ERROR = -1) and kc's local errors (-100 and below, names
 * with a double underscore, as librdkafka does). One X-macro table is the
 * source of names, numbers, retriability and messages; bindings generate
 * their constants from it.
 */
#ifndef KC_ERR_H
#define KC_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(NAME, code, retriable, message) */
#define KC_ERRORS(X)                                                                              \
    /* Local errors: never on the wire. */                                                        \
    X(_BAD_MSG, -100, 0, "malformed protocol data")                                               \
    X(_NO_MEMORY, -101, 0, "out of memory")                                                       \
    X(_INVALID_ARG, -102, 0, "invalid argument")                                                  \
    X(_UNSUPPORTED, -103, 0, "not supported")                                                     \
    X(_TIMED_OUT, -104, 1, "local time-out")                                                      \
    X(_TRANSPORT, -105, 1, "broker transport failure")                                            \
    X(_IO, -106, 0, "I/O error")                                                                  \
    X(_CONF, -107, 0, "invalid configuration")                                                    \
    X(_QUEUE_FULL, -108, 1, "local queue is full")                                                \
    X(_DESTROY, -109, 0, "handle is being destroyed")                                             \
    X(_COMPRESSION, -110, 0, "compression or decompression failed")                               \
    X(_BAD_CRC, -111, 0, "CRC mismatch")                                                          \
    X(_TOO_LARGE, -112, 0, "data exceeds the configured size limit")                              \
    X(_NOENT, -113, 0, "no such entry")                                                           \
    X(_STATE, -114, 0, "operation not valid in the current state")                                \
    X(_PARTIAL, -115, 1, "partial data: more bytes needed")                                       \
    X(_FATAL, -116, 0, "fatal error: see kc_fatal_error()")                                       \
    X(_PURGED, -117, 0, "purged before delivery")                                                 \
    X(_MSG_TIMED_OUT, -118, 0, "message timed out before delivery")                               \
    X(_UNKNOWN_PARTITION, -119, 0, "unknown partition")                                           \
    X(_UNKNOWN_TOPIC, -120, 0, "unknown topic")                                                   \
    X(_PARTITION_EOF, -121, 0, "reached the end of the partition")                                \
    X(_MAX_POLL_EXCEEDED, -122, 0, "application did not poll within max.poll.interval.ms")        \
    /* Kafka protocol errors. */                                                                  \
    X(UNKNOWN_SERVER_ERROR, -1, 0, "unexpected server error")                                     \
    X(NO_ERROR, 0, 0, "success")                                                                  \
    X(OFFSET_OUT_OF_RANGE, 1, 0, "offset out of range")                                           \
    X(CORRUPT_MESSAGE, 2, 1, "message failed its CRC check or is otherwise corrupt")              \
    X(UNKNOWN_TOPIC_OR_PARTITION, 3, 1, "unknown topic or partition")                             \
    X(INVALID_FETCH_SIZE, 4, 0, "invalid fetch size")                                             \
    X(LEADER_NOT_AVAILABLE, 5, 1, "leader not available")                                         \
    X(NOT_LEADER_OR_FOLLOWER, 6, 1, "not leader or follower for this partition")                  \
    X(REQUEST_TIMED_OUT, 7, 1, "request timed out")                                               \
    X(BROKER_NOT_AVAILABLE, 8, 0, "broker not available")                                         \
    X(REPLICA_NOT_AVAILABLE, 9, 1, "replica not available")                                       \
    X(MESSAGE_TOO_LARGE, 10, 0, "message larger than the server accepts")                         \
    X(STALE_CONTROLLER_EPOCH, 11, 0, "stale controller epoch")                                    \
    X(OFFSET_METADATA_TOO_LARGE, 12, 0, "offset metadata string too large")                       \
    X(NETWORK_EXCEPTION, 13, 1, "server disconnected before a response was received")             \
    X(COORDINATOR_LOAD_IN_PROGRESS, 14, 1, "coordinator is loading")                              \
    X(COORDINATOR_NOT_AVAILABLE, 15, 1, "coordinator not available")                              \
    X(NOT_COORDINATOR, 16, 1, "not the coordinator")                                              \
    X(INVALID_TOPIC_EXCEPTION, 17, 0, "invalid topic")                                            \
    X(RECORD_LIST_TOO_LARGE, 18, 0, "record batch larger than the segment size")                  \
    X(NOT_ENOUGH_REPLICAS, 19, 1, "not enough in-sync replicas")                                  \
    X(NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20, 1, "written to fewer in-sync replicas than required") \
    X(INVALID_REQUIRED_ACKS, 21, 0, "invalid required acks")                                      \
    X(ILLEGAL_GENERATION, 22, 0, "illegal generation")                                            \
    X(INCONSISTENT_GROUP_PROTOCOL, 23, 0, "inconsistent group protocol")                          \
    X(INVALID_GROUP_ID, 24, 0, "invalid group id")                                                \
    X(UNKNOWN_MEMBER_ID, 25, 0, "unknown member id")                                              \
    X(INVALID_SESSION_TIMEOUT, 26, 0, "invalid session timeout")                                  \
    X(REBALANCE_IN_PROGRESS, 27, 0, "group is rebalancing")                                       \
    X(INVALID_COMMIT_OFFSET_SIZE, 28, 0, "invalid commit offset size")                            \
    X(TOPIC_AUTHORIZATION_FAILED, 29, 0, "topic authorization failed")                            \
    X(GROUP_AUTHORIZATION_FAILED, 30, 0, "group authorization failed")                            \
    X(CLUSTER_AUTHORIZATION_FAILED, 31, 0, "cluster authorization failed")                        \
    X(INVALID_TIMESTAMP, 32, 0, "timestamp out of the acceptable range")                          \
    X(UNSUPPORTED_SASL_MECHANISM, 33, 0, "unsupported SASL mechanism")                            \
    X(ILLEGAL_SASL_STATE, 34, 0, "illegal SASL state")                                            \
    X(UNSUPPORTED_VERSION, 35, 0, "unsupported API version")                                      \
    X(TOPIC_ALREADY_EXISTS, 36, 0, "topic already exists")                                        \
    X(INVALID_PARTITIONS, 37, 0, "invalid number of partitions")                                  \
    X(INVALID_REPLICATION_FACTOR, 38, 0, "invalid replication factor")                            \
    X(INVALID_REPLICA_ASSIGNMENT, 39, 0, "invalid replica assignment")                            \
    X(INVALID_CONFIG, 40, 0, "invalid configuration")                                             \
    X(NOT_CONTROLLER, 41, 1, "not the controller")                                                \
    X(INVALID_REQUEST, 42, 0, "invalid request")                                                  \
    X(UNSUPPORTED_FOR_MESSAGE_FORMAT, 43, 0, "unsupported for the message format")                \
    X(POLICY_VIOLATION, 44, 0, "policy violation")                                                \
    X(OUT_OF_ORDER_SEQUENCE_NUMBER, 45, 0, "out-of-order sequence number")                        \
    X(DUPLICATE_SEQUENCE_NUMBER, 46, 0, "duplicate sequence number")                              \
    X(INVALID_PRODUCER_EPOCH, 47, 0, "invalid producer epoch")                                    \
    X(INVALID_TXN_STATE, 48, 0, "invalid transaction state")                                      \
    X(INVALID_PRODUCER_ID_MAPPING, 49, 0, "invalid producer id mapping")                          \
    X(INVALID_TRANSACTION_TIMEOUT, 50, 0, "invalid transaction timeout")                          \
    X(CONCURRENT_TRANSACTIONS, 51, 1, "concurrent transactions")                                  \
    X(TRANSACTION_COORDINATOR_FENCED, 52, 0, "transaction coordinator fenced")                    \
    X(TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 53, 0, "transactional id authorization failed")      \
    X(SECURITY_DISABLED, 54, 0, "security features are disabled")                                 \
    X(OPERATION_NOT_ATTEMPTED, 55, 0, "operation not attempted")                                  \
    X(KAFKA_STORAGE_ERROR, 56, 1, "disk error on the broker")                                     \
    X(LOG_DIR_NOT_FOUND, 57, 0, "log directory not found")                                        \
    X(SASL_AUTHENTICATION_FAILED, 58, 0, "SASL authentication failed")                            \
    X(UNKNOWN_PRODUCER_ID, 59, 0, "unknown producer id")                                          \
    X(REASSIGNMENT_IN_PROGRESS, 60, 0, "partition reassignment in progress")                      \
    X(DELEGATION_TOKEN_AUTH_DISABLED, 61, 0, "delegation token authentication disabled")          \
    X(DELEGATION_TOKEN_NOT_FOUND, 62, 0, "delegation token not found")                            \
    X(DELEGATION_TOKEN_OWNER_MISMATCH, 63, 0, "delegation token owner mismatch")                  \
    X(DELEGATION_TOKEN_REQUEST_NOT_ALLOWED, 64, 0, "delegation token request not allowed")        \
    X(DELEGATION_TOKEN_AUTHORIZATION_FAILED, 65, 0, "delegation token authorization failed")      \
    X(DELEGATION_TOKEN_EXPIRED, 66, 0, "delegation token expired")                                \
    X(INVALID_PRINCIPAL_TYPE, 67, 0, "invalid principal type")                                    \
    X(NON_EMPTY_GROUP, 68, 0, "group is not empty")                                               \
    X(GROUP_ID_NOT_FOUND, 69, 0, "group id not found")                                            \
    X(FETCH_SESSION_ID_NOT_FOUND, 70, 1, "fetch session id not found")                            \
    X(INVALID_FETCH_SESSION_EPOCH, 71, 1, "invalid fetch session epoch")                          \
    X(LISTENER_NOT_FOUND, 72, 1, "listener not found")                                            \
    X(TOPIC_DELETION_DISABLED, 73, 0, "topic deletion disabled")                                  \
    X(FENCED_LEADER_EPOCH, 74, 1, "fenced leader epoch")                                          \
    X(UNKNOWN_LEADER_EPOCH, 75, 1, "unknown leader epoch")                                        \
    X(UNSUPPORTED_COMPRESSION_TYPE, 76, 0, "unsupported compression type")                        \
    X(STALE_BROKER_EPOCH, 77, 0, "stale broker epoch")                                            \
    X(OFFSET_NOT_AVAILABLE, 78, 1, "offset not available")                                        \
    X(MEMBER_ID_REQUIRED, 79, 0, "member id required")                                            \
    X(PREFERRED_LEADER_NOT_AVAILABLE, 80, 1, "preferred leader not available")                    \
    X(GROUP_MAX_SIZE_REACHED, 81, 0, "group max size reached")                                    \
    X(FENCED_INSTANCE_ID, 82, 0, "fenced instance id")                                            \
    X(ELIGIBLE_LEADERS_NOT_AVAILABLE, 83, 1, "eligible leaders not available")                    \
    X(ELECTION_NOT_NEEDED, 84, 1, "election not needed")                                          \
    X(NO_REASSIGNMENT_IN_PROGRESS, 85, 0, "no reassignment in progress")                          \
    X(GROUP_SUBSCRIBED_TO_TOPIC, 86, 0, "group subscribed to topic")                              \
    X(INVALID_RECORD, 87, 0, "invalid record")                                                    \
    X(UNSTABLE_OFFSET_COMMIT, 88, 1, "unstable offset commit")                                    \
    X(THROTTLING_QUOTA_EXCEEDED, 89, 1, "throttling quota exceeded")                              \
    X(PRODUCER_FENCED, 90, 0, "producer fenced")                                                  \
    X(RESOURCE_NOT_FOUND, 91, 0, "resource not found")                                            \
    X(DUPLICATE_RESOURCE, 92, 0, "duplicate resource")                                            \
    X(UNACCEPTABLE_CREDENTIAL, 93, 0, "unacceptable credential")                                  \
    X(INCONSISTENT_VOTER_SET, 94, 0, "inconsistent voter set")                                    \
    X(INVALID_UPDATE_VERSION, 95, 0, "invalid update version")                                    \
    X(FEATURE_UPDATE_FAILED, 96, 0, "feature update failed")                                      \
    X(PRINCIPAL_DESERIALIZATION_FAILURE, 97, 0, "principal deserialization failure")              \
    X(SNAPSHOT_NOT_FOUND, 98, 0, "snapshot not found")                                            \
    X(POSITION_OUT_OF_RANGE, 99, 0, "position out of range")                                      \
    X(UNKNOWN_TOPIC_ID, 100, 1, "unknown topic id")                                               \
    X(DUPLICATE_BROKER_REGISTRATION, 101, 0, "duplicate broker registration")                     \
    X(BROKER_ID_NOT_REGISTERED, 102, 0, "broker id not registered")                               \
    X(INCONSISTENT_TOPIC_ID, 103, 1, "inconsistent topic id")                                     \
    X(INCONSISTENT_CLUSTER_ID, 104, 0, "inconsistent cluster id")                                 \
    X(TRANSACTIONAL_ID_NOT_FOUND, 105, 0, "transactional id not found")                           \
    X(FETCH_SESSION_TOPIC_ID_ERROR, 106, 1, "fetch session topic id error")                       \
    X(INELIGIBLE_REPLICA, 107, 0, "ineligible replica")                                           \
    X(NEW_LEADER_ELECTED, 108, 1, "new leader elected")                                           \
    X(OFFSET_MOVED_TO_TIERED_STORAGE, 109, 0, "offset moved to tiered storage")                   \
    X(FENCED_MEMBER_EPOCH, 110, 0, "fenced member epoch")                                         \
    X(UNRELEASED_INSTANCE_ID, 111, 0, "unreleased instance id")                                   \
    X(UNSUPPORTED_ASSIGNOR, 112, 0, "unsupported assignor")                                       \
    X(STALE_MEMBER_EPOCH, 113, 0, "stale member epoch")                                           \
    X(MISMATCHED_ENDPOINT_TYPE, 114, 0, "mismatched endpoint type")                               \
    X(UNSUPPORTED_ENDPOINT_TYPE, 115, 0, "unsupported endpoint type")                             \
    X(UNKNOWN_CONTROLLER_ID, 116, 0, "unknown controller id")                                     \
    X(UNKNOWN_SUBSCRIPTION_ID, 117, 0, "unknown subscription id")                                 \
    X(TELEMETRY_TOO_LARGE, 118, 0, "telemetry too large")                                         \
    X(INVALID_REGISTRATION, 119, 0, "invalid registration")                                       \
    X(TRANSACTION_ABORTABLE, 120, 0, "transaction abortable")

typedef enum kc_err {
#define KC_ERR_ENUM_(name, code, retriable, msg) KC_ERR_##name = code,
    KC_ERRORS(KC_ERR_ENUM_)
#undef KC_ERR_ENUM_
} kc_err_t;

/* The error's name without the KC_ERR_ prefix ("NOT_LEADER_OR_FOLLOWER"), or
 * "UNKNOWN" for a code kc does not know. Never NULL. */
const char *kc_err_name(kc_err_t err);

/* A short human-readable description. Never NULL. */
const char *kc_err_str(kc_err_t err);

/* Non-zero if a client may retry the operation that failed with err. */
int kc_err_is_retriable(kc_err_t err);

#ifdef __cplusplus
}
#endif
#endif

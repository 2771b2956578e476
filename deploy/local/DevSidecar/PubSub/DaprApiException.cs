using System.Text.Json.Nodes;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace Dcis.Crisis.DevSidecar.PubSub;

/// <summary>A Dapr API error: the errorCode, HTTP status and gRPC code of DAPR-CONTRACT.md §1.1.</summary>
public sealed class DaprApiException(string errorCode, int httpStatus, StatusCode grpcCode, string reason, string message, string? pubsubName = null)
    : Exception(message)
{
    public string ErrorCode { get; } = errorCode;
    public int HttpStatus { get; } = httpStatus;
    public StatusCode GrpcCode { get; } = grpcCode;
    public string Reason { get; } = reason;
    public string? PubsubName { get; } = pubsubName;

    public static DaprApiException NotConfigured() =>
        new("ERR_PUBSUB_NOT_CONFIGURED", 400, StatusCode.FailedPrecondition, "DAPR_PUBSUB_NOT_CONFIGURED", "no pubsub is configured");

    public static DaprApiException Empty() =>
        new("ERR_PUBSUB_EMPTY", 404, StatusCode.InvalidArgument, "DAPR_PUBSUB_NAME_EMPTY", "pubsub name is empty");

    public static DaprApiException NotFound(string pubsub) =>
        new("ERR_PUBSUB_NOT_FOUND", 404, StatusCode.InvalidArgument, "DAPR_PUBSUB_NOT_FOUND", $"pubsub {pubsub} is not found", pubsub);

    public static DaprApiException TopicEmpty(string pubsub) =>
        new("ERR_TOPIC_EMPTY", 404, StatusCode.InvalidArgument, "DAPR_PUBSUB_TOPIC_NAME_EMPTY", $"topic is empty in pubsub {pubsub}", pubsub);

    public static DaprApiException RequestMetadata(string pubsub, string detail) =>
        new("ERR_PUBSUB_REQUEST_METADATA", 400, StatusCode.InvalidArgument, "DAPR_PUBSUB_METADATA_DESERIALIZATION", $"failed deserializing metadata: {detail}", pubsub);

    public static DaprApiException CloudEventsSer(string pubsub, string detail) =>
        new("ERR_PUBSUB_CLOUD_EVENTS_SER", 500, StatusCode.InvalidArgument, "DAPR_PUBSUB_CLOUD_EVENTS_SER", $"cannot create cloudevent: {detail}", pubsub);

    public static DaprApiException Forbidden(string pubsub, string topic, string appId) =>
        new("ERR_PUBSUB_FORBIDDEN", 403, StatusCode.PermissionDenied, "DAPR_PUBSUB_FORBIDDEN", $"topic {topic} is not allowed for app id {appId}", pubsub);

    public static DaprApiException PublishMessage(string pubsub, string topic, string detail) =>
        new("ERR_PUBSUB_PUBLISH_MESSAGE", 500, StatusCode.Internal, "DAPR_PUBSUB_PUBLISH_MESSAGE", $"error when publish to topic {topic} in pubsub {pubsub}: {detail}", pubsub);

    public static DaprApiException EventsSer(string pubsub, string detail) =>
        new("ERR_PUBSUB_EVENTS_SER", 400, StatusCode.InvalidArgument, "DAPR_PUBSUB_EVENTS_SER", $"error when unmarshalling the request body: {detail}", pubsub);

    /// <summary>The JSON body daprd answers with: errorCode, message and google.rpc details.</summary>
    public JsonObject ToJson()
    {
        var details = new JsonArray
        {
            new JsonObject
            {
                ["@type"] = "type.googleapis.com/google.rpc.ErrorInfo",
                ["reason"] = Reason,
                ["domain"] = "dapr.io",
                ["metadata"] = new JsonObject(),
            },
        };
        if (PubsubName is not null)
        {
            details.Add(new JsonObject
            {
                ["@type"] = "type.googleapis.com/google.rpc.ResourceInfo",
                ["resource_type"] = "pubsub",
                ["resource_name"] = PubsubName,
                ["owner"] = "",
                ["description"] = "",
            });
        }

        return new JsonObject { ["errorCode"] = ErrorCode, ["message"] = Message, ["details"] = details };
    }

    /// <summary>The same error as a gRPC status with rich details (grpc-status-details-bin).</summary>
    public RpcException ToRpcException()
    {
        var status = new Google.Rpc.Status
        {
            Code = (int)GrpcCode,
            Message = Message,
            Details = { Any.Pack(new ErrorInfo { Reason = Reason, Domain = "dapr.io" }) },
        };
        if (PubsubName is not null)
        {
            status.Details.Add(Any.Pack(new ResourceInfo { ResourceType = "pubsub", ResourceName = PubsubName }));
        }

        return status.ToRpcException();
    }
}

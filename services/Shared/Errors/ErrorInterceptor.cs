using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Dcis.Crisis.Shared.Errors;

/// <summary>
/// Turns domain outcomes into precise gRPC statuses with google.rpc details. Anything else stays
/// an Internal error, logged once here, and its message is not leaked to the caller.
/// </summary>
public sealed class ErrorInterceptor(ILogger<ErrorInterceptor> logger) : Interceptor
{
    /// <inheritdoc />
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Task<TResponse> call;
        try
        {
            call = continuation(request, context);
        }
        catch (Exception ex) when (Map(ex, context) is { } rpc)
        {
            throw rpc;
        }

        // Most reads complete synchronously (served from memory): hand their task back as it is,
        // without an async frame of our own on every call.
        return call.IsCompletedSuccessfully ? call : AwaitUnaryAsync(call, context);
    }

    private async Task<TResponse> AwaitUnaryAsync<TResponse>(Task<TResponse> call, ServerCallContext context)
    {
        try
        {
            return await call;
        }
        catch (Exception ex) when (Map(ex, context) is { } rpc)
        {
            throw rpc;
        }
    }

    /// <inheritdoc />
    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (Map(ex, context) is { } rpc)
        {
            throw rpc;
        }
    }

    /// <inheritdoc />
    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (Exception ex) when (Map(ex, context) is { } rpc)
        {
            throw rpc;
        }
    }

    private RpcException? Map(Exception ex, ServerCallContext context)
    {
        switch (ex)
        {
            case RpcException:
                return null;
            case OperationCanceledException when context.CancellationToken.IsCancellationRequested:
                return new RpcException(new Grpc.Core.Status(StatusCode.Cancelled, "cancelled by the caller"));
            case DomainException domain:
                return RpcErrors.FromDomain(domain);
            default:
                logger.LogError(ex, "Unhandled error in {Method}", context.Method);
                return new RpcException(new Grpc.Core.Status(StatusCode.Internal, "internal error"));
        }
    }
}

/// <summary>Tiny helpers that build rich gRPC errors (google.rpc.Status with details).</summary>
public static class RpcErrors
{
    /// <summary>Maps a domain outcome to its gRPC error.</summary>
    public static RpcException FromDomain(DomainException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return ex switch
        {
            ValidationFailedException v => InvalidArgument(v.Message, v.Violations),
            NotFoundException n => Build(Code.NotFound, n.Message, Any.Pack(new ResourceInfo { ResourceType = n.Resource, ResourceName = n.Id })),
            ConflictException c => Build(Code.FailedPrecondition, c.Message, Any.Pack(new PreconditionFailure
            {
                Violations = { new PreconditionFailure.Types.Violation { Type = c.Reason, Description = c.Message } },
            })),
            AccessDeniedException a => Build(Code.PermissionDenied, a.Message),
            AlreadyExistsException e => Build(Code.AlreadyExists, e.Message),
            QuotaExceededException q => Build(Code.ResourceExhausted, q.Message),
            _ => Build(Code.Internal, "internal error"),
        };
    }

    /// <summary>InvalidArgument with a BadRequest listing every field violation.</summary>
    public static RpcException InvalidArgument(string message, IEnumerable<FieldViolation> violations)
    {
        var badRequest = new BadRequest();
        badRequest.FieldViolations.AddRange(violations.Select(v => new BadRequest.Types.FieldViolation { Field = v.Field, Description = v.Description }));
        return Build(Code.InvalidArgument, message, Any.Pack(badRequest));
    }

    private static RpcException Build(Code code, string message, params Any[] details)
    {
        var status = new Google.Rpc.Status { Code = (int)code, Message = message };
        status.Details.AddRange(details);
        return status.ToRpcException();
    }
}

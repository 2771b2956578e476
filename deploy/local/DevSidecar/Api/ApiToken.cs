using Grpc.Core;

namespace Dcis.Crisis.DevSidecar.Api;

/// <summary>
/// DAPR_API_TOKEN enforcement (DAPR-CONTRACT.md §7): every app→sidecar call must carry
/// <c>dapr-api-token</c>, except the health endpoints (as in daprd) and gRPC reflection (which the
/// .NET SDK calls without the token).
/// </summary>
public static class ApiToken
{
    public const string Header = "dapr-api-token";

    public static void UseDaprApiToken(this WebApplication app, SidecarOptions options)
    {
        if (options.DaprApiToken is not { } token)
        {
            return;
        }

        app.Use(async (context, next) =>
        {
            var isGrpc = context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true;
            if (isGrpc || context.Request.Path.Value?.Contains("/healthz", StringComparison.Ordinal) == true
                || context.Request.Headers[Header] == token)
            {
                await next(context);
                return;
            }

            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await context.Response.WriteAsync("invalid api token", context.RequestAborted);
        });
    }

    /// <summary>Rejects gRPC calls to the Dapr service without the right token with Unauthenticated.</summary>
    public sealed class Interceptor(SidecarOptions options) : Grpc.Core.Interceptors.Interceptor
    {
        public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
            TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
        {
            if (options.DaprApiToken is { } token)
            {
                var sent = context.RequestHeaders.GetValue(Header);
                if (sent is null)
                {
                    throw new RpcException(new Status(StatusCode.Unauthenticated, "authentication error: missing api token"));
                }

                if (sent != token)
                {
                    throw new RpcException(new Status(StatusCode.Unauthenticated, "authentication error: api token mismatch"));
                }
            }

            return continuation(request, context);
        }
    }
}

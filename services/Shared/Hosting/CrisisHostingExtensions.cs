using Dapr;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Events;
using Dcis.Crisis.Shared.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Dcis.Crisis.Shared.Hosting;

/// <summary>The one call per service that sets up everything services have in common.</summary>
public static class CrisisHostingExtensions
{
    /// <summary>
    /// Log levels that hold unless configuration says otherwise (inserted as the first, weakest source).
    /// At Information, ASP.NET Core writes two entries per request and HttpClient four per health probe:
    /// seeding 5,000 registrants produced ~50,000 lines, burying the services' own lines and the
    /// launcher's summary. Requests are traced and measured (OpenTelemetry) instead.
    /// </summary>
    private static readonly Dictionary<string, string?> QuietFrameworkLogs = new(StringComparer.Ordinal)
    {
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:System.Net.Http.HttpClient"] = "Warning",
    };

    /// <summary>
    /// Telemetry, health, Kestrel's two endpoints (gRPC over h2c; HTTP/1.1 for Dapr callbacks and
    /// health — without TLS one port cannot serve both), JWT auth and policies, rich gRPC errors,
    /// request limits and the Dapr client.
    /// </summary>
    public static CrisisServiceOptions AddCrisisDefaults(this WebApplicationBuilder builder, string appId, int defaultHttpPort, int defaultGrpcPort)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = QuietFrameworkLogs });
        var options = CrisisServiceOptions.From(builder.Configuration, appId, defaultHttpPort, defaultGrpcPort);
        builder.Services.AddSingleton(options);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var address = System.Net.IPAddress.Parse(options.BindAddress);
            kestrel.Listen(address, options.GrpcPort, o => o.Protocols = HttpProtocols.Http2);
            kestrel.Listen(address, options.HttpPort, o => o.Protocols = HttpProtocols.Http1);
            kestrel.Limits.MaxRequestBodySize = 16 * 1024 * 1024;
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
        });

        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = Limits.MaxRequestBytes;
            grpc.MaxSendMessageSize = Limits.MaxResponseBytes;
            grpc.Interceptors.Add<ErrorInterceptor>();
        });
        builder.Services.AddGrpcHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy());
        if (builder.Environment.IsDevelopment())
        {
            builder.Services.AddGrpcReflection();
        }

        builder.Services.AddCrisisAuthentication(builder.Configuration, options);
        builder.Services.AddDaprClient();
        builder.Services.AddSingleton(sp => SidecarPublishChannel.From(sp.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>()));
        builder.Services.AddSingleton<IEventPublisher, DaprEventPublisher>();
        builder.AddCrisisTelemetry(appId);
        return options;
    }

    /// <summary>Maps health (gRPC and <c>/healthz</c>), reflection in Development, the Dapr
    /// subscription discovery endpoint, the CloudEvents unwrapping middleware, and lifts the request-body
    /// rate limit on watch streams (<see cref="LongLivedStreams"/>).</summary>
    public static WebApplication MapCrisisDefaults(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // Subscription endpoints (MapSubscription) read the CloudEvent envelope from the request bytes themselves;
        // every other endpoint (a hand-mapped dead-letter route, say) gets the middleware's unwrapping as before.
        app.UseWhen(
            static http => Microsoft.AspNetCore.Http.EndpointHttpContextExtensions.GetEndpoint(http)?.Metadata.GetMetadata<ReadsCloudEventEnvelope>() is null,
            static branch => branch.UseCloudEvents(new CloudEventsMiddlewareOptions { ForwardCloudEventPropertiesAsHeaders = true }));
        app.UseLongLivedStreams();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGrpcHealthChecksService().AllowAnonymous();
        app.MapHealthChecks("/healthz").AllowAnonymous();
        if (app.Environment.IsDevelopment())
        {
            app.MapGrpcReflectionService().AllowAnonymous();
        }

        app.MapSubscribeHandler().AllowAnonymous();
        return app;
    }

    private static void AddCrisisTelemetry(this WebApplicationBuilder builder, string appId)
    {
        var traceFile = builder.Configuration["CRISIS_TRACE_FILE"];
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(appId))
            .WithTracing(t =>
            {
                t.AddSource(CrisisTelemetry.Name)
                    .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments("/healthz", StringComparison.Ordinal))
                    .AddHttpClientInstrumentation()
                    .AddGrpcClientInstrumentation();
                if (!otlp && string.IsNullOrEmpty(traceFile))
                {
                    // No exporter, so nobody reads the spans: they are still created, so the trace context
                    // (the traceparent of every CloudEvent, the trace id of every log entry) goes on, but not
                    // recorded, which spares every request and call its tags and timings.
                    t.SetSampler(new PropagateOnlySampler());
                }
            })
            .WithMetrics(m => m
                .AddMeter(CrisisTelemetry.Name)
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation());
        builder.Logging.AddOpenTelemetry(l =>
        {
            l.IncludeScopes = true;
            l.IncludeFormattedMessage = true;
        });
        if (otlp)
        {
            otel.UseOtlpExporter();
        }

        if (!string.IsNullOrEmpty(traceFile))
        {
            otel.WithTracing(t => t.AddProcessor(new SimpleActivityExportProcessor(new FileSpanExporter(traceFile, appId))));
        }
    }
}

/// <summary>Samples nothing but keeps every span's context, so that traces still propagate.</summary>
internal sealed class PropagateOnlySampler : Sampler
{
    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters) => new(SamplingDecision.Drop);
}

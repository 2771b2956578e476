using Dcis.Crisis.Sample.V1;
using Dcis.Crisis.Shared.Errors;
using Dcis.Crisis.Shared.Hosting;
using Dcis.Crisis.Shared.Security;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;

namespace Dcis.Crisis.Shared.Tests.Sample;

/// <summary>A service built exactly as the real ones are, with nothing of its own but one RPC.</summary>
internal static class SampleApp
{
    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddCrisisDefaults("sample", 5900, 5901);
        var app = builder.Build();
        app.MapCrisisDefaults();
        app.MapGrpcService<SampleGrpcService>();
        return app;
    }
}

[Authorize(Policy = CrisisPolicies.Analyst)]
internal sealed class SampleGrpcService : SampleService.SampleServiceBase
{
    public override Task<EchoResponse> Echo(EchoRequest request, ServerCallContext context)
    {
        new Validator().Required("note", request.Note).E164("phone", request.Phone).ThrowIfInvalid();
        return Task.FromResult(new EchoResponse { Note = request.Note, Subject = context.GetCaller().Subject });
    }

    public override Task<FindResponse> Find(FindRequest request, ServerCallContext context) =>
        throw new NotFoundException("thing", request.Id);
}

using Dcis.Crisis.Shared.Security;
using Grpc.Core;
using Grpc.Net.Client;

namespace Dcis.Crisis.Testing;

/// <summary>Channels and development tokens for a service under test, in-process or a child process alike.</summary>
internal static class ServiceChannels
{
    /// <summary>A real gRPC channel to <paramref name="address"/>; with a token, every call carries it.</summary>
    public static GrpcChannel For(Uri address, string? token)
    {
        var options = new GrpcChannelOptions { MaxReceiveMessageSize = 16 * 1024 * 1024 };
        if (token is not null)
        {
            var credentials = CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("Authorization", $"Bearer {token}");
                return Task.CompletedTask;
            });
            options.Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, credentials);
            options.UnsafeUseInsecureChannelCallCredentials = true;
        }

        return GrpcChannel.ForAddress(address, options);
    }

    /// <summary>A development token signed with the data directory's key, which the service there accepts.</summary>
    public static string Token(string dataDir, string role, string subject, string? postId = null, string? companyId = null,
        string? registrantId = null, IReadOnlyList<string>? countries = null) =>
        DevTokens.Mint(DevTokens.LoadOrCreateKey(dataDir), new TokenRequest(subject, [role])
        {
            PostId = postId, CompanyId = companyId, RegistrantId = registrantId, Countries = countries,
        });
}

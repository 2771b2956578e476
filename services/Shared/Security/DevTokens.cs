using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Dcis.Crisis.Shared.Security;

/// <summary>
/// Development tokens: an HMAC key kept in the data directory (created on first use) signs JWTs
/// that the services validate exactly as they would an OIDC provider's (issuer, audience,
/// lifetime, signature). Production configures <c>Auth:Authority</c> instead and never reads the key.
/// </summary>
public static class DevTokens
{
    /// <summary>Issuer of development tokens.</summary>
    public const string Issuer = "dcis-crisis-dev";

    /// <summary>Audience every service expects.</summary>
    public const string Audience = "dcis-crisis";

    /// <summary>File name of the signing key inside the data directory.</summary>
    public const string KeyFileName = "dev-signing-key";

    /// <summary>Loads the key from the data directory, creating it (0600) on first use.</summary>
    public static SymmetricSecurityKey LoadOrCreateKey(string dataDir)
    {
        Directory.CreateDirectory(dataDir);
        var path = Path.Combine(dataDir, KeyFileName);
        if (!File.Exists(path))
        {
            var fresh = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));
            try
            {
                using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                using var writer = new StreamWriter(stream);
                writer.Write(fresh);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another process (a service starting beside the CLI) created it first: use theirs.
            }

            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }

        var text = File.ReadAllText(path).Trim();
        return new SymmetricSecurityKey(Convert.FromBase64String(text)) { KeyId = "dev" };
    }

    /// <summary>Mints a token.</summary>
    public static string Mint(SecurityKey key, TokenRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var claims = new List<Claim> { new("sub", request.Subject) };
        claims.AddRange(request.Roles.Select(r => new Claim(CrisisClaims.Role, r)));
        AddIfSet(claims, CrisisClaims.PostId, request.PostId);
        AddIfSet(claims, CrisisClaims.CompanyId, request.CompanyId);
        AddIfSet(claims, CrisisClaims.RegistrantId, request.RegistrantId);
        if (request.Countries is { Count: > 0 })
        {
            claims.Add(new Claim(CrisisClaims.Countries, string.Join(' ', request.Countries)));
        }

        var now = request.Now ?? DateTime.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = request.Issuer ?? Issuer,
            Audience = Audience,
            Subject = new ClaimsIdentity(claims),
            NotBefore = now.AddMinutes(-1),
            IssuedAt = now.AddMinutes(-1),
            Expires = now.Add(request.Lifetime ?? TimeSpan.FromHours(8)),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    private static void AddIfSet(List<Claim> claims, string type, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            claims.Add(new Claim(type, value));
        }
    }
}

/// <summary>What a development token should say.</summary>
public sealed record TokenRequest(string Subject, IReadOnlyList<string> Roles)
{
    /// <summary>Optional post scope.</summary>
    public string? PostId { get; init; }

    /// <summary>Optional company scope.</summary>
    public string? CompanyId { get; init; }

    /// <summary>Optional registrant scope.</summary>
    public string? RegistrantId { get; init; }

    /// <summary>Optional countries (attaché).</summary>
    public IReadOnlyList<string>? Countries { get; init; }

    /// <summary>Lifetime; default 8 hours (a duty shift).</summary>
    public TimeSpan? Lifetime { get; init; }

    /// <summary>Issue time; default now. Tests use it to mint expired tokens.</summary>
    public DateTime? Now { get; init; }

    /// <summary>Issuer override; tests use it to mint tokens from an untrusted issuer.</summary>
    public string? Issuer { get; init; }
}

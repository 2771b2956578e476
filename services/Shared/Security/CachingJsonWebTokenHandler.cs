using System.Collections.Concurrent;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Dcis.Crisis.Shared.Security;

/// <summary>
/// JSON web token validation that remembers, for each exact token string it found valid, the result
/// until the token expires (at most <see cref="CacheFor"/>): a caller sends the same bearer token on
/// every call, and the signature, issuer, audience and claims of the same string cannot change, so
/// only the lifetime needs checking again. Calls with the same token share one read-only identity. A rotated
/// signing key is noticed within <see cref="CacheFor"/>. Invalid tokens are never cached.
/// </summary>
internal sealed class CachingJsonWebTokenHandler : JsonWebTokenHandler
{
    /// <summary>Longest time a validation is reused.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(5);

    private const int MaxEntries = 10_000;
    private readonly ConcurrentDictionary<string, (TokenValidationResult Result, DateTime Until)> _valid = new(StringComparer.Ordinal);

    public override Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        var now = DateTime.UtcNow;
        if (token is not null && _valid.TryGetValue(token, out var hit))
        {
            if (now < hit.Until)
            {
                // The identity is shared by every call that presents this token: nothing in the
                // services adds claims to it (they read the caller through Caller.FromPrincipal).
                return Task.FromResult(new TokenValidationResult
                {
                    IsValid = true,
                    ClaimsIdentity = hit.Result.ClaimsIdentity,
                    SecurityToken = hit.Result.SecurityToken,
                    Issuer = hit.Result.Issuer,
                    TokenType = hit.Result.TokenType,
                });
            }

            _valid.TryRemove(token, out _);
        }

        return ValidateAndRememberAsync(token, validationParameters, now);
    }

    private async Task<TokenValidationResult> ValidateAndRememberAsync(string? token, TokenValidationParameters validationParameters, DateTime now)
    {
        var result = await base.ValidateTokenAsync(token, validationParameters);
        if (token is not null && result.IsValid && result.SecurityToken is { } validated)
        {
            if (_valid.Count >= MaxEntries)
            {
                _valid.Clear();
            }

            var expires = validated.ValidTo == DateTime.MinValue ? now : validated.ValidTo;
            var until = expires < now + CacheFor ? expires : now + CacheFor;
            _valid[token] = (result, until);
        }

        return result;
    }
}

using System.Text.Json;

namespace Dcis.Crisis.DevSidecar.Subscriptions;

/// <summary>
/// The top-level CloudEvent attributes a delivery needs, read with one forward pass over the stored
/// bytes (no JSON tree): the entry must be one JSON object, as <c>JsonNode.Parse</c> would demand.
/// </summary>
public readonly record struct CloudEventFields(string? Expiration, string? TraceParent, string? TraceId, string? TraceState)
{
    /// <summary>False when <paramref name="data"/> is not a single, well-formed JSON object.</summary>
    public static bool TryRead(ReadOnlySpan<byte> data, out CloudEventFields fields)
    {
        fields = default;
        string? expiration = null, traceParent = null, traceId = null, traceState = null;
        try
        {
            var reader = new Utf8JsonReader(data);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var which = reader.ValueTextEquals("expiration"u8) ? 1
                    : reader.ValueTextEquals("traceparent"u8) ? 2
                    : reader.ValueTextEquals("traceid"u8) ? 3
                    : reader.ValueTextEquals("tracestate"u8) ? 4
                    : 0;
                reader.Read();
                if (which == 0 || reader.TokenType != JsonTokenType.String)
                {
                    reader.Skip();
                    continue;
                }

                switch (which)
                {
                    case 1:
                        expiration = reader.GetString();
                        break;
                    case 2:
                        traceParent = reader.GetString();
                        break;
                    case 3:
                        traceId = reader.GetString();
                        break;
                    default:
                        traceState = reader.GetString();
                        break;
                }
            }

            // Anything after the object (other than whitespace) makes the reader throw.
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return false;
            }
        }
        catch (JsonException)
        {
            return false;
        }

        fields = new CloudEventFields(expiration, traceParent, traceId, traceState);
        return true;
    }
}

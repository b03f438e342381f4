using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace TrustLaunch.Oci.Crypt;

/// <summary>ocicrypt's <c>keywrap</c>: wrap <see cref="OptsData"/> for the one resource URI given as <c>provider:trustlaunch:URI</c>.</summary>
public sealed record KeyWrapRequest(byte[] OptsData, string Kid);

/// <summary>ocicrypt's <c>keyunwrap</c>: the packet bytes the provider returned at wrap time.</summary>
public sealed record KeyUnwrapRequest(byte[] Annotation);

/// <summary>
/// The messages of ocicrypt's key-provider protocol (containers/ocicrypt <c>keywrap/keyprovider</c>), as Go's
/// encoding/json writes them: <c>[]byte</c> fields are standard base64 strings. In:
/// <c>{"op":"keywrap","keywrapparams":{"ec":{"Parameters":{"trustlaunch":[b64]},"DecryptConfig":{…}},"optsdata":b64}}</c>
/// or <c>{"op":"keyunwrap","keyunwrapparams":{"dc":{"Parameters":{…}},"annotation":b64}}</c>; out:
/// <c>{"keywrapresults":{"annotation":b64}}</c> or <c>{"keyunwrapresults":{"optsdata":b64}}</c>. The same messages
/// travel as the bytes of gRPC <c>KeyProviderService</c>'s <c>KeyProviderKeyWrapProtocolInput</c>/<c>Output</c>, so
/// <c>trustlaunch keyprovider</c> and the agent's KeyProviderService share this and <see cref="UnwrapAsync"/>.
/// </summary>
public static class KeyProviderProtocol
{
    public const int MaxMessageLength = 1 << 20;

    /// <summary>Reads the one message on standard input, at most <see cref="MaxMessageLength"/> characters.</summary>
    public static async Task<string> ReadMessageAsync(TextReader input, CancellationToken cancellationToken)
    {
        var message = new StringBuilder();
        var buffer = new char[16 * 1024];
        int n;
        while ((n = await input.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (message.Length + n > MaxMessageLength)
                throw new KeyProviderProtocolException($"the message on standard input is more than {MaxMessageLength} characters");
            message.Append(buffer, 0, n);
        }
        return message.ToString();
    }

    /// <returns>A <see cref="KeyWrapRequest"/> or a <see cref="KeyUnwrapRequest"/>.</returns>
    /// <exception cref="KeyProviderProtocolException">Not a message of the protocol (the reason named).</exception>
    public static object Parse(string message)
    {
        try
        {
            using var doc = JsonDocument.Parse(message);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Refused("the message is not a JSON object");
            var op = root.TryGetProperty("op", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString() : null;
            return op switch
            {
                "keywrap" => ParseWrap(root),
                "keyunwrap" => new KeyUnwrapRequest(Bytes(Object(root, "keyunwrapparams"), "annotation", "keyunwrapparams.annotation")),
                _ => throw Refused($"op '{Shown(op)}' is neither keywrap nor keyunwrap"),
            };
        }
        catch (JsonException)
        {
            throw Refused("the message is not JSON");
        }
    }

    private static KeyWrapRequest ParseWrap(JsonElement root)
    {
        var parameters = Object(root, "keywrapparams");
        var optsdata = Bytes(parameters, "optsdata", "keywrapparams.optsdata");
        var ec = Object(parameters, "ec", "keywrapparams.ec");
        const string ours = "keywrapparams.ec.Parameters." + KeyProviderPacket.ProviderName;
        if (!ec.TryGetProperty("Parameters", out var p) || p.ValueKind != JsonValueKind.Object
            || !p.TryGetProperty(KeyProviderPacket.ProviderName, out var values) || values.ValueKind != JsonValueKind.Array)
            throw Refused($"{ours} is missing: encrypt with provider:{KeyProviderPacket.ProviderName}:kbs:///REPOSITORY/TYPE/TAG");
        if (values.GetArrayLength() != 1)
            throw Refused($"{ours} holds {values.GetArrayLength()} values: give exactly one provider:{KeyProviderPacket.ProviderName}:kbs:///… recipient");
        var value = values[0];
        if (value.ValueKind != JsonValueKind.String || !value.TryGetBytesFromBase64(out var kid))
            throw Refused($"{ours}[0] is not base64");
        return new KeyWrapRequest(optsdata, Encoding.UTF8.GetString(kid));
    }

    /// <summary>
    /// keyunwrap: the packet's kid names the key-encryption key, <paramref name="fetchKek"/> gets it (through the key
    /// broker, so only an attested node does), the packet opens under it, and the answer carries the layer's private
    /// options. The key and the options are wiped here; <see cref="CryptographicException"/> names a packet refused.
    /// </summary>
    public static async Task<string> UnwrapAsync(KeyUnwrapRequest request, Func<string, CancellationToken, Task<byte[]>> fetchKek, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var optsdata = await KeyProviderPacket.OpenAsync(request.Annotation, fetchKek, cancellationToken).ConfigureAwait(false);
        try
        {
            return UnwrapResult(optsdata);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(optsdata);
        }
    }

    public static string WrapResult(byte[] annotation) => Result("keywrapresults", "annotation", annotation);

    public static string UnwrapResult(byte[] optsdata) => Result("keyunwrapresults", "optsdata", optsdata);

    private static string Result(string results, string field, byte[] value)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject(results);
            json.WriteBase64String(field, value);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static JsonElement Object(JsonElement parent, string name, string? path = null) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Object ? value : throw Refused($"{path ?? name} is missing or not an object");

    private static byte[] Bytes(JsonElement parent, string name, string path) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.TryGetBytesFromBase64(out var bytes) && bytes.Length > 0
            ? bytes
            : throw Refused($"{path} is missing or not base64");

    private static string Shown(string? text) => text is null ? "" : new([.. text.Take(64).Select(c => char.IsControl(c) ? '?' : c)]);

    internal static KeyProviderProtocolException Refused(string reason) => new(reason);
}

/// <summary>A message that is not one of the key-provider protocol's (the reason named).</summary>
public sealed class KeyProviderProtocolException(string message) : Exception(message);

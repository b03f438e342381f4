using System.Text.Json;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Manifests;

namespace TrustLaunch.Cli.Commands.StreamProcessor;

/// <summary>
/// The payload containerd gives an ocicrypt stream processor on fd 3: a protobuf <c>google.protobuf.Any</c>
/// (field 1 <c>type_url</c>, field 2 <c>value</c>) of type <see cref="TypeUrl"/>, whose value is imgcrypt's
/// <c>Payload</c> as JSON, <c>{"DecryptConfig":{…},"Descriptor":{OCI descriptor of the encrypted layer}}</c>.
/// </summary>
public static class StreamProcessorPayload
{
    public const string TypeUrl = "io.containerd.ocicrypt.v1.Payload";

    /// <summary>A descriptor with its key packets is a few KiB; anything this large is not a payload.</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>The encrypted layer's descriptor.</summary>
    /// <exception cref="InvalidDataException">Not such a payload; the message names what is wrong.</exception>
    public static OciDescriptor Parse(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxBytes)
            throw new InvalidDataException($"stream processor payload is over {MaxBytes} bytes");
        string? typeUrl = null;
        ReadOnlySpan<byte> value = default;
        var position = 0;
        while (position < payload.Length)
        {
            var tag = ReadVarint(payload, ref position);
            var (field, wireType) = (tag >> 3, (int)(tag & 7));
            if (wireType != 2)
                throw new InvalidDataException($"stream processor payload: field {field} has wire type {wireType}, an Any has only length-delimited fields");
            var length = ReadVarint(payload, ref position);
            if (length > (ulong)(payload.Length - position))
                throw new InvalidDataException($"stream processor payload: field {field} is {length} bytes, past the end");
            var bytes = payload.Slice(position, (int)length);
            position += (int)length;
            if (field == 1)
                typeUrl = System.Text.Encoding.UTF8.GetString(bytes);
            else if (field == 2)
                value = bytes;
        }
        if (typeUrl != TypeUrl)
            throw new InvalidDataException($"stream processor payload is of type '{typeUrl}', not {TypeUrl}");
        return Descriptor(value);
    }

    private static OciDescriptor Descriptor(ReadOnlySpan<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json.ToArray());
            if (!document.RootElement.TryGetProperty("Descriptor", out var d) || d.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException("stream processor payload has no Descriptor");
            var annotations = d.TryGetProperty("annotations", out var a) && a.ValueKind == JsonValueKind.Object
                ? a.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal)
                : null;
            return new OciDescriptor
            {
                MediaType = d.GetProperty("mediaType").GetString() ?? throw new InvalidDataException("the payload's descriptor has no mediaType"),
                Digest = Digest.Parse(d.GetProperty("digest").GetString() ?? ""),
                Size = d.GetProperty("size").GetInt64(),
                Annotations = annotations,
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"stream processor payload's Descriptor is malformed: {e.Message}");
        }
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int position)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (position >= data.Length)
                throw new InvalidDataException("stream processor payload ends inside a varint");
            var b = data[position++];
            result |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
                return result;
        }
        throw new InvalidDataException("stream processor payload has a varint of more than 10 bytes");
    }
}

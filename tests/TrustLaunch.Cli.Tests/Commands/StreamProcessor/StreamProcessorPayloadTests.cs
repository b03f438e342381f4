using System.Text;
using TrustLaunch.Cli.Commands.StreamProcessor;

namespace TrustLaunch.Cli.Tests.Commands.StreamProcessor;

/// <summary>The fd-3 payload containerd gives <c>trustlaunch stream-decrypt</c>: hand-built protobuf <c>Any</c> buffers.</summary>
public sealed class StreamProcessorPayloadTests
{
    private const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    private static byte[] Field(int number, byte[] bytes) => [(byte)(number << 3 | 2), .. Varint((ulong)bytes.Length), .. bytes];

    private static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(value & 0x7f);
            value >>= 7;
            bytes.Add(value == 0 ? b : (byte)(b | 0x80));
        }
        while (value != 0);
        return [.. bytes];
    }

    private static byte[] Any(string typeUrl, string json) => [.. Field(1, Encoding.UTF8.GetBytes(typeUrl)), .. Field(2, Encoding.UTF8.GetBytes(json))];

    private static string PayloadJson(string descriptor) => $$$"""{"DecryptConfig":{"Parameters":null},"Descriptor":{{{descriptor}}}}""";

    [Fact]
    public void Parse_ImgcryptPayload_TheLayerDescriptorWithItsAnnotations()
    {
        var payload = Any(StreamProcessorPayload.TypeUrl, PayloadJson(
            $$$"""{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip+encrypted","digest":"{{{Digest}}}","size":1234,"annotations":{"org.opencontainers.image.enc.keys.provider.trustlaunch":"cGFja2V0"}}"""));

        var layer = StreamProcessorPayload.Parse(payload);

        Assert.Equal(("application/vnd.oci.image.layer.v1.tar+gzip+encrypted", Digest, 1234L), (layer.MediaType, layer.Digest.ToString(), layer.Size));
        Assert.Equal("cGFja2V0", layer.Annotations!["org.opencontainers.image.enc.keys.provider.trustlaunch"]);
    }

    [Fact]
    public void Parse_AnotherType_Refused()
    {
        var e = Assert.Throws<InvalidDataException>(() => StreamProcessorPayload.Parse(Any("io.containerd.other.v1.Payload", PayloadJson("{}"))));

        Assert.Equal("stream processor payload is of type 'io.containerd.other.v1.Payload', not io.containerd.ocicrypt.v1.Payload", e.Message);
    }

    [Fact]
    public void Parse_LengthPastTheEnd_Refused()
    {
        byte[] payload = [0x0a, 0x7f, (byte)'i', (byte)'o'];

        var e = Assert.Throws<InvalidDataException>(() => StreamProcessorPayload.Parse(payload));

        Assert.Equal("stream processor payload: field 1 is 127 bytes, past the end", e.Message);
    }

    [Fact]
    public void Parse_VarintField_Refused()
    {
        var e = Assert.Throws<InvalidDataException>(() => StreamProcessorPayload.Parse([0x08, 0x01]));

        Assert.Equal("stream processor payload: field 1 has wire type 0, an Any has only length-delimited fields", e.Message);
    }

    [Fact]
    public void Parse_UnterminatedVarint_Refused()
    {
        var e = Assert.Throws<InvalidDataException>(() => StreamProcessorPayload.Parse([0x0a, 0x80]));

        Assert.Equal("stream processor payload ends inside a varint", e.Message);
    }

    [Fact]
    public void Parse_NoDescriptor_Refused()
    {
        var e = Assert.Throws<InvalidDataException>(() => StreamProcessorPayload.Parse(Any(StreamProcessorPayload.TypeUrl, """{"DecryptConfig":{}}""")));

        Assert.Equal("stream processor payload has no Descriptor", e.Message);
    }

    [Fact]
    public void Parse_DescriptorWithoutDigest_Refused()
    {
        var payload = Any(StreamProcessorPayload.TypeUrl, PayloadJson("""{"mediaType":"application/vnd.oci.image.layer.v1.tar+encrypted","size":1}"""));

        var e = Assert.Throws<InvalidDataException>(() => StreamProcessorPayload.Parse(payload));

        Assert.StartsWith("stream processor payload's Descriptor is malformed: ", e.Message, StringComparison.Ordinal);
    }
}

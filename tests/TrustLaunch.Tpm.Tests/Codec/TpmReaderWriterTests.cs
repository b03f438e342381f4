using TrustLaunch.Tpm.Codec;

namespace TrustLaunch.Tpm.Tests.Codec;

public sealed class TpmReaderWriterTests
{
    [Fact]
    public void Writer_BigEndianAndSized_RoundTripsThroughReader()
    {
        var bytes = new TpmWriter().WriteUInt16(0x0102).WriteUInt32(0x03040506).WriteUInt64(0x0708090A0B0C0D0E)
            .WriteByte(0xFF).WriteSized([0xAA, 0xBB]).ToArray();
        Assert.Equal(Convert.FromHexString("01020304050607080 90A0B0C0D0EFF0002AABB".Replace(" ", "")), bytes);

        var r = new TpmReader(bytes, "test");
        Assert.Equal(0x0102, r.ReadUInt16("a"));
        Assert.Equal(0x03040506u, r.ReadUInt32("b"));
        Assert.Equal(0x0708090A0B0C0D0EUL, r.ReadUInt64("c"));
        Assert.Equal(0xFF, r.ReadByte("d"));
        Assert.Equal([0xAA, 0xBB], r.ReadSized("e", 2).ToArray());
        r.ExpectEnd();
    }

    [Fact]
    public void ReadUInt32_TooFewBytes_NamesFieldAndOffset()
    {
        var e = Assert.Throws<TpmFormatException>(() => new TpmReader([1, 2, 3], "TPMS_X").ReadUInt32("magic"));
        Assert.Equal("TPMS_X: magic: needs 4 bytes at offset 0, only 3 remain", e.Message);
    }

    [Fact]
    public void ReadSized_LengthBeyondData_Refused()
    {
        var e = Assert.Throws<TpmFormatException>(() => new TpmReader([0x00, 0x10, 1, 2], "TPMS_X").ReadSized("extraData", 64));
        Assert.Equal("TPMS_X: extraData: needs 16 bytes at offset 2, only 2 remain", e.Message);
    }

    [Fact]
    public void ReadSized_LengthAboveMaximum_RefusedBeforeReading()
    {
        var e = Assert.Throws<TpmFormatException>(() => new TpmReader([0xFF, 0xFF], "TPMS_X").ReadSized("extraData", 64));
        Assert.Equal("TPMS_X: extraData: size 65535 exceeds the maximum of 64", e.Message);
    }

    [Fact]
    public void ExpectEnd_TrailingBytes_Refused()
    {
        var e = Assert.Throws<TpmFormatException>(() => new TpmReader([1], "TPMS_X").ExpectEnd());
        Assert.Equal("TPMS_X: 1 unexpected trailing bytes", e.Message);
    }

    [Fact]
    public void PatchUInt32_OverwritesEarlierBytes()
    {
        var w = new TpmWriter().WriteUInt16(0x8001).WriteUInt32(0).WriteUInt32(0x17B);
        w.PatchUInt32(2, (uint)w.Length);
        Assert.Equal(Convert.FromHexString("80010000000A0000017B"), w.ToArray());
    }
}

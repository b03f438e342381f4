using System.Text;

namespace TrustLaunch.Hsm.Tests;

public sealed class PinSourceTests
{
    [Fact]
    public void ReadFirstLine_Stdin_PinReturnedScratchWipedRestUnread()
    {
        using var stdin = new MemoryStream(Encoding.UTF8.GetBytes("s3cret-pin\r\nnext line"));
        var scratch = new byte[64];

        var pin = PinSource.ReadFirstLine(stdin, scratch);

        Assert.Equal("s3cret-pin", Encoding.UTF8.GetString(pin));
        Assert.All(scratch, b => Assert.Equal(0, b));
        Assert.Equal(12, stdin.Position);
    }

    [Fact]
    public void ReadFirstLine_LongerThanScratch_RefusedAndWiped()
    {
        using var stdin = new MemoryStream(Encoding.UTF8.GetBytes(new string('7', 20)));
        var scratch = new byte[8];

        var e = Assert.Throws<InvalidDataException>(() => PinSource.ReadFirstLine(stdin, scratch));

        Assert.Equal("the PIN on standard input is longer than 8 bytes", e.Message);
        Assert.All(scratch, b => Assert.Equal(0, b));
    }

    [Fact]
    public void Read_Dash_ReadsTheGivenStdin()
    {
        using var stdin = new MemoryStream(Encoding.UTF8.GetBytes("1234\n"));
        Assert.Equal("1234", Encoding.UTF8.GetString(PinSource.Read("-", stdin)!));
    }
}

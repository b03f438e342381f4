using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Layers;
using TrustLaunch.Oci.Rootfs;
using TrustLaunch.Oci.Tests.Layers;
using TrustLaunch.Testing;
using static TrustLaunch.Oci.Tests.Layers.TarBuilder;

namespace TrustLaunch.Oci.Tests.Rootfs;

public sealed class RootfsDigestTests : IDisposable
{
    private static readonly DateTimeOffset OtherTime = new(2001, 9, 9, 1, 46, 40, TimeSpan.Zero);

    private readonly Sandbox _box = new();
    private int _count;

    public void Dispose() => _box.Dispose();

    private static TarEntry[] Tree(DateTimeOffset? time = null, string content = "hello", int mode = 0x1ED, int uid = 0, string link = "busybox") =>
    [
        Dir("./", 0x1ED, time: time),
        Dir("bin/", 0x1ED, time: time),
        File("bin/busybox", content, mode, uid: uid, time: time),
        Symlink("bin/sh", link, time: time),
        HardLink("bin/hard", "bin/busybox"),
        Dir("etc/", 0x1ED, time: time),
        File("etc/my file%", "x", 0x1A4, uid: 1000, gid: 1000, time: time),
        Dir("tmp/", 0x3FF, time: time),
        Fifo("run/initctl", 0x180),
        Device(TarEntryType.CharacterDevice, "dev/null", 1, 3, 0x1B6),
    ];

    private async Task<Digest> DigestOfAsync(params TarEntry[] entries)
    {
        var target = Path.Combine(_box.Base, "image" + _count++);
        await new LayerUnpacker().UnpackImageAsync([Layer(entries)], target);
        return RootfsDigest.Compute(target);
    }

    [Fact]
    public async Task CanonicalLines_Version1SmallTree_ExactFormat()
    {
        var target = Path.Combine(_box.Base, "image");
        await new LayerUnpacker().UnpackImageAsync([Layer(Tree())], target);
        var hello = Convert.ToHexStringLower(SHA256.HashData("hello"u8));
        var x = Convert.ToHexStringLower(SHA256.HashData("x"u8));
        string[] expected =
        [
            "trustlaunch-rootfs-v1",
            ". d 0755 0 0 -",
            "bin d 0755 0 0 -",
            $"bin/busybox f 0755 0 0 sha256:{hello}",
            $"bin/hard f 0755 0 0 sha256:{hello}",
            "bin/sh l 0777 0 0 busybox",
            "dev d 0755 0 0 -",
            "dev/null c 0666 0 0 1:3",
            "etc d 0755 0 0 -",
            $"etc/my%20file%25 f 0644 1000 1000 sha256:{x}",
            "run d 0755 0 0 -",
            "run/initctl p 0600 0 0 -",
            "tmp d 1777 0 0 -",
        ];
        Assert.Equal(expected, RootfsDigest.CanonicalLines(target, RootfsDigest.Version1));
        var text = string.Concat(expected.Select(l => l + "\n"));
        Assert.Equal(Digest.Sha256(Encoding.ASCII.GetBytes(text)), RootfsDigest.ComputeAll(target).V1);
    }

    [Fact]
    public async Task CanonicalLines_Version2_AddsTheImagesXattrsSortedAndNothingElse()
    {
        var target = Path.Combine(_box.Base, "image");
        await new LayerUnpacker().UnpackImageAsync([Layer(
            Dir("./", 0x1ED),
            File("ping", "p", 0x1ED, pax: [new("SCHILY.xattr.user.zeta", "z"), new("SCHILY.xattr.user.alpha", "a b"), new("SCHILY.xattr.trusted.overlay.opaque", "y")]),
            Symlink("sh", "ping"))], target);
        Assert.Equal(0, Posix.TrySetXattr(Path.Combine(target, "ping"), ImageXattrs.Capability, Capability));
        var p = Convert.ToHexStringLower(SHA256.HashData("p"u8));

        string[] expected =
        [
            "trustlaunch-rootfs-v2",
            ". d 0755 0 0 - -",
            $"ping f 0755 0 0 sha256:{p} security.capability={Convert.ToHexStringLower(Capability)},user.alpha=612062,user.zeta=7a",
            "sh l 0777 0 0 ping -",
        ];
        Assert.Equal(expected, RootfsDigest.CanonicalLines(target));
        var digests = RootfsDigest.ComputeAll(target);
        Assert.Equal(Digest.Sha256(Encoding.ASCII.GetBytes(string.Concat(expected.Select(l => l + "\n")))), digests.Current);
        Assert.Equal(digests.Current, RootfsDigest.Compute(target));
        Assert.True(digests.Matches(digests.V1) && digests.Matches(digests.Current));
    }

    [Fact]
    public async Task Compute_CapabilityAddedAfterTheUnpack_Version2ChangesVersion1DoesNot()
    {
        var target = Path.Combine(_box.Base, "image");
        await new LayerUnpacker().UnpackImageAsync([Layer(Tree())], target);
        var before = RootfsDigest.ComputeAll(target);

        (await ProcessRunner.RunAsync("setcap", ["cap_net_raw+ep", Path.Combine(target, "bin", "busybox")])).EnsureSuccess("setcap");
        var after = RootfsDigest.ComputeAll(target);

        Assert.NotEqual(before.Current, after.Current);
        Assert.False(after.Matches(before.Current));
        Assert.Equal(before.V1, after.V1);
    }

    /// <summary>VFS_CAP_REVISION_2, effective, permitted CAP_NET_RAW (bit 13).</summary>
    private static readonly byte[] Capability = [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    [Fact]
    public async Task Compute_DifferentTarOrderAndMtimes_SameDigest()
    {
        var a = await DigestOfAsync(Tree());
        var reordered = Tree(OtherTime);
        // Hard link after its target; everything else reversed, parents implied.
        var b = await DigestOfAsync([.. reordered.Where(e => e.EntryType != TarEntryType.HardLink).Reverse(), reordered.Single(e => e.EntryType == TarEntryType.HardLink)]);
        Assert.Equal(a, b);
    }

    [Fact]
    public async Task Compute_HardLinkOrCopy_SameDigest()
    {
        var linked = await DigestOfAsync(File("a", "same"), HardLink("b", "a"));
        var copied = await DigestOfAsync(File("a", "same"), File("b", "same"));
        Assert.Equal(linked, copied);
    }

    [Theory]
    [InlineData("content")]
    [InlineData("mode")]
    [InlineData("owner")]
    [InlineData("link")]
    public async Task Compute_OneThingChanged_DifferentDigest(string change)
    {
        var original = await DigestOfAsync(Tree());
        var changed = await DigestOfAsync(change switch
        {
            "content" => Tree(content: "hellp"),
            "mode" => Tree(mode: 0x9ED),
            "owner" => Tree(uid: 1),
            _ => Tree(link: "busybox2"),
        });
        Assert.NotEqual(original, changed);
    }

    [Fact]
    public void Compute_MissingDirectory_Refused() =>
        Assert.Throws<DirectoryNotFoundException>(() => RootfsDigest.Compute(Path.Combine(_box.Base, "nothing")));

    [Theory]
    [InlineData("plain/path", "plain/path")]
    [InlineData("with space\nand line", "with%20space%0Aand%20line")]
    [InlineData("100%", "100%25")]
    [InlineData("é", "%C3%A9")]
    public void Escape_BytesOutsidePrintableAscii_PercentEncoded(string text, string escaped) =>
        Assert.Equal(escaped, RootfsDigest.Escape(text));
}

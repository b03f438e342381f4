using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using TrustLaunch.Oci.Content;
using TrustLaunch.Oci.Layers;
using TrustLaunch.Oci.Manifests;
using TrustLaunch.Testing;
using static TrustLaunch.Oci.Tests.Layers.TarBuilder;

namespace TrustLaunch.Oci.Tests.Layers;

public sealed class LayerUnpackerTests : IDisposable
{
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    private string Target => Path.Combine(_box.Base, "image");

    private static Posix.FileStatus Stat(string path) =>
        Posix.TryLstat(path, out var status) ? status : throw new FileNotFoundException(path);

    private static string Octal(uint mode) => Convert.ToString(mode & 0xFFF, 8);

    [Fact]
    public async Task UnpackImage_AllEntryTypes_CreatedWithModesOwnersTimesAndXattrs()
    {
        var fileTime = new DateTimeOffset(2020, 5, 6, 7, 8, 9, TimeSpan.Zero);
        var dirTime = new DateTimeOffset(2019, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var layer = Layer(
            Dir("./", 0x1ED),
            Dir("bin/", 0x1ED, time: dirTime),
            File("bin/su", "setuid", 0x9ED /* 4755 */, uid: 0, gid: 0, time: fileTime),
            File("bin/owned", "owned", 0x1A0 /* 0640 */, uid: 1000, gid: 1001, pax: [new("SCHILY.xattr.user.test", "hello")]),
            Dir("tmp/", 0x3FF /* 1777 */),
            Symlink("bin/sh", "su", uid: 7, gid: 8),
            HardLink("bin/su-again", "bin/su"),
            Fifo("run/fifo", 0x180),
            Device(TarEntryType.CharacterDevice, "dev/null", 1, 3, 0x1B6),
            Device(TarEntryType.BlockDevice, "dev/loop7", 7, 7),
            File("deep/implicit/parents/file", "made"));
        var result = await new LayerUnpacker().UnpackImageAsync([layer], Target);

        Assert.Equal(Target, result.RootDirectory);
        Assert.Equal("4755", Octal(Stat(Target + "/bin/su").Mode));
        Assert.Equal(fileTime, System.IO.File.GetLastWriteTimeUtc(Target + "/bin/su"));
        Assert.Equal(dirTime, Directory.GetLastWriteTimeUtc(Target + "/bin"));
        var owned = Stat(Target + "/bin/owned");
        Assert.Equal(("640", 1000u, 1001u), (Octal(owned.Mode), owned.Uid, owned.Gid));
        Assert.Equal("hello"u8.ToArray(), Posix.TryGetXattr(Target + "/bin/owned", "user.test"));
        Assert.Equal("1777", Octal(Stat(Target + "/tmp").Mode));
        var sh = Stat(Target + "/bin/sh");
        Assert.True(sh.IsSymlink);
        Assert.Equal((7u, 8u), (sh.Uid, sh.Gid));
        Assert.Equal("su", new FileInfo(Target + "/bin/sh").LinkTarget);
        Assert.Equal(2, Sandbox.LinkCount(Target + "/bin/su"));
        Assert.Equal("setuid", System.IO.File.ReadAllText(Target + "/bin/su-again"));
        Assert.Equal(Posix.TypeFifo, Stat(Target + "/run/fifo").Type);
        var devNull = Stat(Target + "/dev/null");
        Assert.Equal((Posix.TypeChar, 1u, 3u, "666"), (devNull.Type, devNull.RdevMajor, devNull.RdevMinor, Octal(devNull.Mode)));
        Assert.Equal(Posix.TypeBlock, Stat(Target + "/dev/loop7").Type);
        Assert.Equal("made", System.IO.File.ReadAllText(Target + "/deep/implicit/parents/file"));
        Assert.Equal(0, result.Layers[0].XattrsNotApplied);
        Assert.Equal(0, result.Layers[0].SkippedDeviceNodes);
        _box.AssertNothingOutside("image", "root", "sentinel");
    }

    [Fact]
    public async Task UnpackImage_WhiteoutsAndOpaqueDirectories_HideLowerLayers()
    {
        var lower = Layer(
            File("a/x", "x"), File("a/y", "y"), File("b/z", "z"), File("c/keep", "keep"),
            File("opq/lower1", "1"), Dir("opq/lowerdir/"), File("opq/lowerdir/f", "f"),
            File("late/lower", "l"));
        var upper = Layer(
            File("a/.wh.x", ""),
            File(".wh.b", ""),
            File("opq/.wh..wh..opq", ""),
            File("opq/new", "new"),
            File("late/new", "new"),
            File("late/.wh..wh..opq", ""), // after a child of the same layer: that child stays
            File("c/.wh.absent", ""));
        await new LayerUnpacker().UnpackImageAsync([lower, upper], Target);

        Assert.Equal(["a/y", "c/keep", "late/new", "opq/new"], Files(Target));
        Assert.False(Directory.Exists(Target + "/b"));
        Assert.False(System.IO.File.Exists(Target + "/a/.wh.x"));
    }

    [Fact]
    public async Task UnpackImage_OpaqueDirectoryAfterNestedEntriesOfSameLayer_LowerContentGoneEverywhere()
    {
        var lower = Layer(File("opq/sub/old", "old"), File("opq/old", "old"), File("opq/sub/deeper/old", "old"));
        var upper = Layer(Dir("opq/sub/"), File("opq/sub/new", "new"), File("opq/.wh..wh..opq", ""));
        await new LayerUnpacker().UnpackImageAsync([lower, upper], Target);
        Assert.Equal(["opq/sub/new"], Files(Target));
        Assert.False(Directory.Exists(Target + "/opq/sub/deeper"));
    }

    [Fact]
    public async Task UnpackImage_XattrValueHoldingReplacementCharacter_WrittenVerbatim()
    {
        var layer = Layer(File("f", "x", pax: [new("SCHILY.xattr.user.bin", "\uFFFD\u0001"), new("SCHILY.xattr.user.text", "ok")]));
        var result = await new LayerUnpacker().UnpackImageAsync([layer], Target);
        Assert.Equal(0, result.Layers[0].XattrsNotApplied);
        Assert.Equal(new byte[] { 0xEF, 0xBF, 0xBD, 0x01 }, Posix.TryGetXattr(Target + "/f", "user.bin"));
        Assert.Equal("ok"u8.ToArray(), Posix.TryGetXattr(Target + "/f", "user.text"));
    }

    [Fact]
    public async Task UnpackImage_XattrsOtherThanUserAndCapability_SkippedAndCounted()
    {
        var layer = Layer(File("f", "x", pax:
        [
            new("SCHILY.xattr.user.kept", "u"), new("SCHILY.xattr.trusted.overlay.opaque", "y"),
            new("SCHILY.xattr.security.selinux", "system_u:object_r:shadow_t:s0"), new("SCHILY.xattr.system.posix_acl_access", "x"),
        ]));

        var result = await new LayerUnpacker().UnpackImageAsync([layer], Target);

        Assert.Equal((3, 0), (result.Layers[0].XattrsSkipped, result.Layers[0].XattrsNotApplied));
        Assert.Equal("u"u8.ToArray(), Posix.TryGetXattr(Target + "/f", "user.kept"));
        Assert.Null(Posix.TryGetXattr(Target + "/f", "trusted.overlay.opaque"));
        Assert.Null(Posix.TryGetXattr(Target + "/f", "security.selinux"));
    }

    [Fact]
    public async Task UnpackImage_GnuTarBinarySecurityCapability_ExactBytesRestored()
    {
        Assert.True(Posix.IsRoot, "setcap and restoring security.capability need root");
        var source = Directory.CreateDirectory(Path.Combine(_box.Base, "src")).FullName;
        await System.IO.File.WriteAllTextAsync(Path.Combine(source, "ping"), "binary");
        var tar = Path.Combine(_box.Base, "layer.tar");
        (await ProcessRunner.RunAsync("sh", ["-euc", $"""
            setcap cap_setuid,cap_net_raw+ep '{source}/ping'
            tar --xattrs --xattrs-include='*' --format=posix -C '{source}' -cf '{tar}' ping
            """])).EnsureSuccess("setcap + tar");
        // VFS_CAP_REVISION_2 | effective, permitted = CAP_SETUID (bit 7) | CAP_NET_RAW (bit 13): 0x80 is not UTF-8.
        byte[] capability = [0x01, 0x00, 0x00, 0x02, 0x80, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        Assert.Equal(capability, Posix.TryGetXattr(Path.Combine(source, "ping"), "security.capability"));

        var result = await new LayerUnpacker().UnpackImageAsync([Layer(await System.IO.File.ReadAllBytesAsync(tar))], Target);

        Assert.Equal(0, result.Layers[0].XattrsNotApplied);
        Assert.Equal(capability, Posix.TryGetXattr(Target + "/ping", "security.capability"));
    }

    [Fact]
    public async Task UnpackImage_EntriesReplacingEntries_FollowTheLayerSpec()
    {
        var lower = Layer(File("dir-becomes-file/child", "c"), File("file-becomes-dir", "f"), File("link-target", "t"), File("file-becomes-link", "f"));
        var upper = Layer(
            File("dir-becomes-file", "now a file"),
            Dir("file-becomes-dir/"), File("file-becomes-dir/inside", "i"),
            Symlink("file-becomes-link", "link-target"),
            File("link-target", "rewritten"));
        await new LayerUnpacker().UnpackImageAsync([lower, upper], Target);

        Assert.Equal("now a file", System.IO.File.ReadAllText(Target + "/dir-becomes-file"));
        Assert.Equal("i", System.IO.File.ReadAllText(Target + "/file-becomes-dir/inside"));
        Assert.Equal("link-target", new FileInfo(Target + "/file-becomes-link").LinkTarget);
        Assert.Equal("rewritten", System.IO.File.ReadAllText(Target + "/file-becomes-link"));
    }

    [Fact]
    public async Task UnpackImage_HardLinksAcrossLayers_ShareTheInode()
    {
        await new LayerUnpacker().UnpackImageAsync(
            [Layer(File("usr/bin/perl", "perl")), Layer(HardLink("usr/bin/perl5", "usr/bin/perl"), HardLink("usr/bin/perl5.36", "./usr/bin/perl5"))], Target);
        Assert.Equal(3, Sandbox.LinkCount(Target + "/usr/bin/perl"));
    }

    [Fact]
    public async Task UnpackImage_MultiMemberGzip_Decompressed()
    {
        var tar = Tar(File("one", "1"), File("two", new string('2', 5000)), File("three", "3"));
        var blob = Gzip(tar[..1536]).Concat(Gzip(tar[1536..4000])).Concat(Gzip(tar[4000..])).ToArray();
        var result = await new LayerUnpacker().UnpackImageAsync([Blob(blob, LayerCompression.Gzip, Digest.Sha256(tar))], Target);

        Assert.Equal(["one", "three", "two"], Files(Target));
        Assert.Equal(new string('2', 5000), System.IO.File.ReadAllText(Target + "/two"));
        Assert.Equal(Digest.Sha256(tar), result.Layers[0].DiffId);
        Assert.Equal(tar.Length, result.Layers[0].UncompressedBytes);
    }

    [Theory]
    [InlineData(LayerCompression.None)]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public async Task UnpackImage_EachCompression_Unpacked(LayerCompression compression)
    {
        var tar = Tar(File("etc/hostname", "trustlaunch"), Symlink("etc/alias", "hostname"));
        await new LayerUnpacker().UnpackImageAsync([Layer(tar, compression)], Target);
        Assert.Equal("trustlaunch", System.IO.File.ReadAllText(Target + "/etc/alias"));
    }

    [Theory]
    [InlineData(LayerCompression.Gzip, LayerCompression.Zstd, "is declared gzip by its media type but its data is zstd (starts with 28B52FFD)")]
    [InlineData(LayerCompression.Zstd, LayerCompression.Gzip, "is declared zstd by its media type but its data is gzip (starts with 1F8B08")]
    [InlineData(LayerCompression.None, LayerCompression.Gzip, "is declared an uncompressed tar by its media type but its data is gzip (starts with 1F8B08")]
    [InlineData(LayerCompression.Gzip, LayerCompression.None, "is declared gzip by its media type but its data is not gzip or zstd (starts with ")]
    public async Task UnpackImage_MagicContradictsMediaType_Refused(LayerCompression declared, LayerCompression actual, string message)
    {
        var tar = Tar(File("etc/x", "x"));
        var blob = Compress(tar, actual);
        var layer = Blob(blob, declared, Digest.Sha256(tar));
        var error = await Assert.ThrowsAsync<LayerUnpackException>(() => new LayerUnpacker().UnpackImageAsync([layer], Target));
        Assert.StartsWith($"layer {layer.Digest} {message}", error.Message, StringComparison.Ordinal);
        _box.AssertNothingOutside();
    }

    [Fact]
    public async Task UnpackImage_DiffIdMismatch_RefusedAndTargetNotCreated()
    {
        var tar = Tar(File("etc/x", "x"));
        var wrong = Digest.Sha256("not this tar"u8);
        var good = Layer(File("bin/ok", "ok"));
        var bad = Layer(tar, LayerCompression.Gzip, wrong);
        var error = await Assert.ThrowsAsync<LayerUnpackException>(() => new LayerUnpacker().UnpackImageAsync([good, bad], Target));
        Assert.Equal($"layer {bad.Digest}: the uncompressed tar has diff_id {Digest.Sha256(tar)} but the image config says {wrong}", error.Message);
        _box.AssertNothingOutside();
    }

    [Fact]
    public async Task UnpackImage_TargetExists_Refused()
    {
        Directory.CreateDirectory(Target);
        var error = await Assert.ThrowsAsync<IOException>(() => new LayerUnpacker().UnpackImageAsync([Layer(File("x", "x"))], Target));
        Assert.Equal($"the unpack target '{Target}' already exists", error.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Target));
    }

    [Fact]
    public async Task UnpackImage_GzipBombOfOneGiB_RefusedQuicklyByRatio()
    {
        var digest = Digest.Sha256("bomb"u8);
        var bomb = new GzipBombStream(1L << 30);
        var layer = new LayerSource(digest, LayerCompression.Gzip, digest, _ => ValueTask.FromResult<Stream>(bomb));
        var error = await Assert.ThrowsAsync<LayerLimitException>(() => new LayerUnpacker().UnpackImageAsync([layer], Target));
        Assert.Equal($"layer {digest} expands beyond 200:1 (decompression bomb?)", error.Message);
        // Quickly = early in the stream: the ratio trips long before the 1,024 MiB members have been inflated.
        Assert.InRange(bomb.MembersRead, 1, 64);
        _box.AssertNothingOutside();
    }

    [Theory]
    [InlineData(LayerCompression.None)]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public async Task UnpackImage_PastMaximumSize_Refused(LayerCompression compression)
    {
        var tar = Tar(File("big", RandomText(300_000)));
        var layer = Layer(tar, compression);
        var unpacker = new LayerUnpacker(new UnpackOptions { Limits = new LayerLimits { MaxUncompressedBytes = 100_000 } });
        var error = await Assert.ThrowsAsync<LayerLimitException>(() => unpacker.UnpackImageAsync([layer], Target));
        Assert.Equal($"layer {layer.Digest} expands beyond 100000 bytes (the configured maximum)", error.Message);
        _box.AssertNothingOutside();
    }

    [Fact]
    public async Task UnpackImage_TruncatedGzip_RefusedNamingTheLayer()
    {
        var blob = Gzip(Tar(File("a", RandomText(100_000))));
        var tar = Tar(File("a", "a"));
        var layer = Blob(blob[..(blob.Length / 2)], LayerCompression.Gzip, Digest.Sha256(tar));
        var error = await Assert.ThrowsAnyAsync<IOException>(() => new LayerUnpacker().UnpackImageAsync([layer], Target));
        Assert.StartsWith($"layer {layer.Digest}", error.Message, StringComparison.Ordinal);
        _box.AssertNothingOutside();
    }

    private static string RandomText(int length)
    {
        var random = new Random(42);
        return string.Create(length, random, (span, r) =>
        {
            for (var i = 0; i < span.Length; i++)
                span[i] = (char)('a' + r.Next(26));
        });
    }

    internal static string[] Files(string root) =>
        Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(f => Path.GetRelativePath(root, f)).Order(StringComparer.Ordinal).ToArray();

    /// <summary>
    /// A gzip stream of a tar holding one huge file of zeros, generated as it is read: a tar header member, then the
    /// same 1 MiB-of-zeros member repeated. Nothing of the expanded size is ever stored.
    /// </summary>
    private sealed class GzipBombStream : ReadOnlyStream
    {
        private readonly byte[] _header;
        private readonly byte[] _zeros;
        private readonly long _members;
        private long _member = -1;
        private int _offset;

        /// <summary>How many 1 MiB gzip members of zeros the reader has started.</summary>
        public long MembersRead => _member + 1;

        public GzipBombStream(long size)
        {
            _header = Gzip(UstarHeader("zeros", size));
            _zeros = Gzip(new byte[1 << 20], CompressionLevel.SmallestSize); // about 1000:1
            _members = size >> 20;
        }

        /// <summary>A ustar header for a file of <paramref name="size"/> bytes: TarWriter's, with size and checksum patched.</summary>
        private static byte[] UstarHeader(string name, long size)
        {
            var archive = new MemoryStream();
            using (var writer = new TarWriter(archive, TarEntryFormat.Ustar, leaveOpen: true))
                writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { Mode = (UnixFileMode)0x1A4 });
            var header = archive.ToArray()[..512];
            Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\0").CopyTo(header, 124);
            "        "u8.CopyTo(header.AsSpan(148));
            var sum = header.Sum(b => (int)b);
            Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(header, 148);
            return header;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var current = _member < 0 ? _header : _zeros;
            if (_offset == current.Length)
            {
                if (++_member >= _members)
                    return 0;
                current = _zeros;
                _offset = 0;
            }
            var n = Math.Min(count, current.Length - _offset);
            current.AsSpan(_offset, n).CopyTo(buffer.AsSpan(offset));
            _offset += n;
            return n;
        }
    }
}

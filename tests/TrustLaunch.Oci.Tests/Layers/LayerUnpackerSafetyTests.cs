using System.Formats.Tar;
using TrustLaunch.Oci.Layers;
using static TrustLaunch.Oci.Tests.Layers.TarBuilder;

namespace TrustLaunch.Oci.Tests.Layers;

/// <summary>Malicious layers: each is refused with its exact message and nothing outside the root changes.</summary>
public sealed class LayerUnpackerSafetyTests : IDisposable
{
    private readonly Sandbox _box = new();

    public void Dispose() => _box.Dispose();

    private async Task<string> RefusedAsync(params TarEntry[][] layers)
    {
        var unpacker = new LayerUnpacker();
        var error = await Assert.ThrowsAsync<LayerUnpackException>(async () =>
        {
            foreach (var layer in layers)
                await unpacker.ApplyLayerAsync(Layer(layer), _box.Root);
        });
        _box.AssertNothingOutside();
        return error.Message;
    }

    private string Outside(string entry) => $"entry '{entry}' would be written outside the root filesystem '{_box.Root}'";

    [Fact]
    public async Task ApplyLayer_AbsolutePath_Refused()
    {
        var name = _box.Sentinel + "/pwned";
        Assert.Equal($"entry '{name}' has an absolute path", await RefusedAsync([File(name, "x")]));
    }

    [Theory]
    [InlineData("../sentinel/pwned")]
    [InlineData("a/../../sentinel/pwned")]
    public async Task ApplyLayer_DotDotComponent_Refused(string name) =>
        Assert.Equal($"entry '{name}' has a '..' component", await RefusedAsync([File(name, "x")]));

    [Fact]
    public async Task ApplyLayer_WriteThroughSymlinkOfSameLayer_Refused() =>
        Assert.Equal(Outside("escape/pwned"), await RefusedAsync([Symlink("escape", "../sentinel"), File("escape/pwned", "x")]));

    [Fact]
    public async Task ApplyLayer_WriteThroughSymlinkOfLowerLayer_Refused() =>
        Assert.Equal(Outside("escape/pwned"), await RefusedAsync([Symlink("escape", "../sentinel")], [File("escape/pwned", "x")]));

    [Fact]
    public async Task ApplyLayer_DirectoryThroughSymlink_Refused() =>
        Assert.Equal(Outside("escape/newdir/"), await RefusedAsync([Symlink("escape", "../sentinel")], [Dir("escape/newdir/")]));

    [Fact]
    public async Task ApplyLayer_ChainedSymlinksClimbingOut_Refused() =>
        Assert.Equal(Outside("x/sentinel/pwned"), await RefusedAsync(
            [Dir("d"), Symlink("d/up", "../.."), Symlink("x", "d/up")],
            [File("x/sentinel/pwned", "x")]));

    [Fact]
    public async Task ApplyLayer_SymlinkToSymlinkedParent_Refused() =>
        Assert.Equal(Outside("b/c/pwned"), await RefusedAsync(
            [Dir("a"), Symlink("a/out", "../../sentinel"), Symlink("b", "a"), Symlink("a/c", "out")],
            [File("b/c/pwned", "x")]));

    [Fact]
    public async Task ApplyLayer_WhiteoutThroughSymlink_Refused() =>
        Assert.Equal(Outside("escape/.wh.secret"), await RefusedAsync([Symlink("escape", "../sentinel")], [File("escape/.wh.secret", "")]));

    [Fact]
    public async Task ApplyLayer_OpaqueWhiteoutThroughSymlink_Refused() =>
        Assert.Equal(Outside("escape/.wh..wh..opq"), await RefusedAsync([Symlink("escape", "../sentinel")], [File("escape/.wh..wh..opq", "")]));

    [Theory]
    [InlineData("../sentinel/secret")]
    [InlineData("escape/secret")]
    [InlineData("ABSOLUTE")]
    public async Task ApplyLayer_HardLinkOutside_Refused(string target)
    {
        target = target.Replace("ABSOLUTE", _box.SecretFile, StringComparison.Ordinal);
        Assert.Equal($"hard link 'h' -> '{target}' points outside the root filesystem '{_box.Root}'",
            await RefusedAsync([Symlink("escape", "../sentinel"), HardLink("h", target)]));
    }

    [Fact]
    public async Task ApplyLayer_HardLinkToDirectory_Refused() =>
        Assert.Equal("hard link 'h' -> 'd': the target is a directory", await RefusedAsync([Dir("d"), HardLink("h", "d")]));

    [Fact]
    public async Task ApplyLayer_HardLinkToMissingFile_Refused() =>
        Assert.Equal("hard link 'h' -> 'nothing': the target does not exist", await RefusedAsync([HardLink("h", "nothing")]));

    [Fact]
    public async Task ApplyLayer_WhiteoutOfEntryOfSameLayer_RefusedAsContradiction() =>
        Assert.Equal("entry 'a/.wh.f' deletes 'a/f', which the same layer creates (contradictory entries)",
            await RefusedAsync([File("a/f", "x"), File("a/.wh.f", "")]));

    [Fact]
    public async Task ApplyLayer_RootReplacedByFile_Refused() =>
        Assert.Equal("entry './' would replace the root directory with a symbolic link", await RefusedAsync([Symlink("./", "/")]));

    [Fact]
    public async Task ApplyLayer_DeviceWhenNotRootAndRefusing_Refused()
    {
        var unpacker = new LayerUnpacker(new UnpackOptions { RunningAsRoot = false, DevicesWhenNotRoot = DeviceNodePolicy.Refuse });
        var error = await Assert.ThrowsAsync<LayerUnpackException>(() =>
            unpacker.ApplyLayerAsync(Layer(Device(TarEntryType.BlockDevice, "dev/sda", 8, 0)), _box.Root));
        Assert.Equal("entry 'dev/sda' is a block device: device nodes need root", error.Message);
        Assert.False(System.IO.File.Exists(_box.InRoot("dev/sda")));
        _box.AssertNothingOutside();
    }

    [Fact]
    public async Task ApplyLayer_DeviceWhenNotRoot_SkippedAndCounted()
    {
        var unpacker = new LayerUnpacker(new UnpackOptions { RunningAsRoot = false });
        var result = await unpacker.ApplyLayerAsync(Layer(Device(TarEntryType.CharacterDevice, "dev/null", 1, 3), File("etc/x", "x")), _box.Root);
        Assert.Equal(1, result.SkippedDeviceNodes);
        Assert.False(System.IO.File.Exists(_box.InRoot("dev/null")));
        Assert.True(System.IO.File.Exists(_box.InRoot("etc/x")));
    }

    [Fact]
    public async Task ApplyLayer_AbsoluteSymlinkParent_ResolvedInsideRoot()
    {
        // An absolute link target means the container's root, never the host's: the write stays inside.
        await new LayerUnpacker().ApplyLayerAsync(Layer(Symlink("abs", _box.Sentinel), File("abs/pwned", "x")), _box.Root);
        Assert.Equal("x", System.IO.File.ReadAllText(_box.Root + _box.Sentinel + "/pwned"));
        _box.AssertNothingOutside();
    }

    [Fact]
    public async Task ApplyLayer_FileReplacingSymlinkToOutside_ReplacesTheLinkOnly()
    {
        await new LayerUnpacker().ApplyLayerAsync(Layer(Symlink("s", "../sentinel/secret"), File("s", "mine")), _box.Root);
        Assert.Equal("mine", System.IO.File.ReadAllText(_box.InRoot("s")));
        Assert.Null(new FileInfo(_box.InRoot("s")).LinkTarget);
        _box.AssertNothingOutside();
    }

    [Fact]
    public async Task ApplyLayer_HardLinkToSymlinkPointingOutside_LinksTheSymlinkItself()
    {
        await new LayerUnpacker().ApplyLayerAsync(Layer(Symlink("s", "../sentinel/secret"), HardLink("h", "s")), _box.Root);
        Assert.Equal("../sentinel/secret", new FileInfo(_box.InRoot("h")).LinkTarget);
        _box.AssertNothingOutside();
    }

    [Fact]
    public async Task UnpackImage_EscapingLayer_RefusedNothingCreated()
    {
        var target = Path.Combine(_box.Base, "image");
        var error = await Assert.ThrowsAsync<LayerUnpackException>(() => new LayerUnpacker().UnpackImageAsync(
            [Layer(File("etc/passwd", "root:x:0:0")), Layer(Symlink("escape", "../../sentinel"), File("escape/pwned", "x"))], target));
        Assert.Equal($"entry 'escape/pwned' would be written outside the root filesystem '{target}'", error.Message);
        _box.AssertNothingOutside();
    }
}

package org.bertedge.demo;

import android.content.res.AssetFileDescriptor;
import android.content.res.AssetManager;

import org.bertedge.core.BundleException;
import org.bertedge.core.Sha256;

import java.io.ByteArrayOutputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Reading the bundle's files from the APK's assets, with user-readable errors. */
final class BundleAssets {
    private final AssetManager assets;

    BundleAssets(AssetManager assets) {
        this.assets = assets;
    }

    AssetManager manager() {
        return assets;
    }

    boolean exists(String name) {
        try {
            String[] all = assets.list("");
            return all != null && Arrays.asList(all).contains(name);
        } catch (IOException e) {
            return false;
        }
    }

    InputStream open(String name) throws BundleException {
        try {
            return assets.open(name, AssetManager.ACCESS_STREAMING);
        } catch (FileNotFoundException e) {
            throw new BundleException("assets/" + name + " is missing from the app: run `bert-edge bundle` "
                    + "(it writes android_demo/app/src/main/assets/), then rebuild and reinstall the APK");
        } catch (IOException e) {
            throw new BundleException("assets/" + name + ": cannot open (" + e.getMessage() + ")", e);
        }
    }

    String readText(String name) throws BundleException {
        try (InputStream in = open(name)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[1 << 16];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
            }
            return new String(out.toByteArray(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new BundleException("assets/" + name + ": read failed (" + e.getMessage() + ")", e);
        }
    }

    /** SHA-256 and length of an asset. */
    static final class Digest {
        final String sha256;
        final long size;

        Digest(String sha256, long size) {
            this.sha256 = sha256;
            this.size = size;
        }
    }

    Digest digest(String name) throws BundleException {
        try (InputStream in = open(name)) {
            CountingStream c = new CountingStream(in);
            String sha = Sha256.hex(c);
            return new Digest(sha, c.count);
        } catch (IOException e) {
            throw new BundleException("assets/" + name + ": read failed (" + e.getMessage() + ")", e);
        }
    }

    /** The asset as an uncompressed file region (needs noCompress for its extension). */
    AssetFileDescriptor openFd(String name) throws BundleException {
        try {
            return assets.openFd(name);
        } catch (FileNotFoundException e) {
            throw new BundleException("assets/" + name + " is stored compressed or missing; the app's "
                    + "build.gradle.kts must list its extension in androidResources.noCompress", e);
        } catch (IOException e) {
            throw new BundleException("assets/" + name + ": cannot open (" + e.getMessage() + ")", e);
        }
    }

    private static final class CountingStream extends java.io.FilterInputStream {
        long count;

        CountingStream(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count++;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n > 0) {
                count += n;
            }
            return n;
        }
    }
}

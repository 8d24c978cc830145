package org.bertedge.demo;

import android.content.Context;
import android.graphics.Typeface;
import android.util.TypedValue;
import android.view.View;
import android.widget.TextView;

import org.bertedge.core.Manifest;

import java.util.Locale;

/** Small formatting helpers shared by the screens. */
final class Ui {
    private Ui() {}

    static String ms(double v) {
        return String.format(Locale.ROOT, "%.2f ms", v);
    }

    static String percent(double p) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * p);
    }

    static String size(long bytes) {
        if (bytes < 0) {
            return "?";
        }
        if (bytes < 1024) {
            return bytes + " B";
        }
        if (bytes < 1024 * 1024) {
            return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MiB (%d bytes)", bytes / 1048576.0, bytes);
    }

    static String shape(int[] s) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < s.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(s[i]);
        }
        return sb.append(']').toString();
    }

    static String tensors(java.util.List<Manifest.TensorSpec> specs) {
        StringBuilder sb = new StringBuilder();
        for (Manifest.TensorSpec t : specs) {
            sb.append("  ").append(t.name).append(' ').append(t.dtype).append(' ').append(shape(t.shape)).append('\n');
        }
        return sb.toString();
    }

    static int dp(Context c, int v) {
        return (int) TypedValue.applyDimension(TypedValue.COMPLEX_UNIT_DIP, v, c.getResources().getDisplayMetrics());
    }

    static TextView text(Context c, CharSequence s, boolean mono) {
        TextView t = new TextView(c);
        t.setText(s);
        t.setTextIsSelectable(true);
        if (mono) {
            t.setTypeface(Typeface.MONOSPACE);
            t.setTextSize(TypedValue.COMPLEX_UNIT_SP, 12);
        }
        return t;
    }

    /** Show {@code msg} in a banner view, or hide it when null. */
    static void banner(TextView banner, String msg) {
        banner.setText(msg);
        banner.setVisibility(msg == null ? View.GONE : View.VISIBLE);
    }

    static String abbrev(String s, int n) {
        String one = s.replace('\n', ' ');
        return one.length() <= n ? one : one.substring(0, n) + "…";
    }
}

package org.bertedge.demo;

import android.os.Bundle;
import android.view.LayoutInflater;
import android.view.View;
import android.view.ViewGroup;
import android.widget.LinearLayout;
import android.widget.TextView;

import androidx.annotation.NonNull;
import androidx.annotation.Nullable;
import androidx.core.content.ContextCompat;
import androidx.fragment.app.Fragment;
import androidx.lifecycle.ViewModelProvider;

import com.google.android.material.button.MaterialButton;
import com.google.android.material.card.MaterialCardView;

import org.bertedge.core.BackendId;
import org.bertedge.core.ParityCheck;

import java.util.Locale;

/**
 * Runs every golden case through every bundled backend and shows, per backend: token-id match,
 * max |logit difference|, argmax agreement, the manifest's tolerances and PASS/FAIL; tap a card
 * for the per-case table.
 */
public final class SelfTestFragment extends Fragment {
    private DemoViewModel vm;

    @Nullable
    @Override
    public View onCreateView(@NonNull LayoutInflater inflater, @Nullable ViewGroup container, @Nullable Bundle state) {
        return inflater.inflate(R.layout.fragment_self_test, container, false);
    }

    @Override
    public void onViewCreated(@NonNull View v, @Nullable Bundle state) {
        vm = new ViewModelProvider(requireActivity()).get(DemoViewModel.class);
        TextView banner = v.findViewById(R.id.banner);
        MaterialButton run = v.findViewById(R.id.run);
        vm.bundle().observe(getViewLifecycleOwner(), b -> {
            Ui.banner(banner, b == null || b.ok() ? null : b.error);
            run.setEnabled(b != null && b.ok() && vm.busy().getValue() == null);
        });
        vm.busy().observe(getViewLifecycleOwner(), busy ->
                run.setEnabled(busy == null && vm.bundle().getValue() != null && vm.bundle().getValue().ok()));
        run.setOnClickListener(x -> vm.runSelfTest());
        vm.selfTest().observe(getViewLifecycleOwner(), r -> show(v, r));
    }

    private void show(View v, Outcome<SelfTestReport> o) {
        TextView overall = v.findViewById(R.id.overall);
        TextView tokenizer = v.findViewById(R.id.tokenizer);
        LinearLayout results = v.findViewById(R.id.results);
        results.removeAllViews();
        if (o == null) {
            return;
        }
        if (!o.ok()) {
            overall.setText("FAIL");
            overall.setTextColor(ContextCompat.getColor(requireContext(), R.color.fail));
            tokenizer.setText(o.error);
            return;
        }
        SelfTestReport r = o.value;
        overall.setText(r.passed() ? "PASS — matches the host" : "FAIL");
        overall.setTextColor(ContextCompat.getColor(requireContext(), r.passed() ? R.color.pass : R.color.fail));
        tokenizer.setText(String.format(Locale.ROOT, "Tokenizer: %d/%d golden cases give the host's token ids%s · %d thread(s)",
                r.tokenMatches, r.goldenCases, r.tokenMatches == r.goldenCases ? " ✓" : " ✗", r.threads));
        for (SelfTestReport.BackendResult b : r.backends) {
            results.addView(card(b));
        }
    }

    private View card(SelfTestReport.BackendResult b) {
        MaterialCardView card = new MaterialCardView(requireContext());
        LinearLayout.LayoutParams lp = new LinearLayout.LayoutParams(
                ViewGroup.LayoutParams.MATCH_PARENT, ViewGroup.LayoutParams.WRAP_CONTENT);
        lp.topMargin = Ui.dp(requireContext(), 12);
        card.setLayoutParams(lp);
        LinearLayout col = new LinearLayout(requireContext());
        col.setOrientation(LinearLayout.VERTICAL);
        int pad = Ui.dp(requireContext(), 12);
        col.setPadding(pad, pad, pad, pad);
        card.addView(col);

        TextView head = Ui.text(requireContext(), BackendId.displayName(b.backend) + "  —  " + (b.passed() ? "PASS" : "FAIL"), false);
        head.setTextAppearance(com.google.android.material.R.style.TextAppearance_Material3_TitleMedium);
        head.setTextColor(ContextCompat.getColor(requireContext(), b.passed() ? R.color.pass : R.color.fail));
        col.addView(head);

        if (b.loadError != null) {
            col.addView(Ui.text(requireContext(), b.loadError, false));
            return card;
        }
        ParityCheck.Summary s = b.summary;
        int n = s.cases.size();
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "token ids      %d/%d match%n", n - s.tokenMismatches, n));
        sb.append("max |Δlogit|   ").append(ParityCheck.num(s.maxAbsDiff));
        if (s.tolerance != null) {
            sb.append("  (tolerance ").append(ParityCheck.num(s.tolerance.maxAbsLogitDiff)).append(')');
        }
        sb.append(String.format(Locale.ROOT, "%nargmax agree   %s", Ui.percent(s.argmaxAgreement)));
        if (s.tolerance != null) {
            sb.append("  (min ").append(Ui.percent(s.tolerance.minArgmaxAgreement)).append(')');
        }
        sb.append(String.format(Locale.ROOT, "%ntime           %.1f s incl. load", b.seconds));
        for (String reason : s.reasons) {
            sb.append("\n✗ ").append(reason);
        }
        col.addView(Ui.text(requireContext(), sb.toString(), true));

        // per-case table, shown on tap
        StringBuilder t = new StringBuilder("line ids  max|Δ|     argmax dev/host  text\n");
        for (ParityCheck.CaseResult c : s.cases) {
            t.append(String.format(Locale.ROOT, "%4d %-4s %-10s %d/%d %s  %s%n", c.line, c.tokensMatch ? "ok" : "DIFF",
                    c.error != null ? "error" : ParityCheck.num(c.maxAbsDiff), c.deviceArgmax, c.referenceArgmax,
                    c.argmaxAgrees() ? " " : "✗", c.error != null ? c.error : Ui.abbrev(c.text, 40)));
        }
        TextView table = Ui.text(requireContext(), t.toString(), true);
        table.setVisibility(View.GONE);
        col.addView(table);
        card.setOnClickListener(x -> table.setVisibility(table.getVisibility() == View.GONE ? View.VISIBLE : View.GONE));
        return card;
    }
}

package org.bertedge.demo;

import android.os.Bundle;
import android.view.LayoutInflater;
import android.view.View;
import android.view.ViewGroup;
import android.widget.AdapterView;
import android.widget.ArrayAdapter;
import android.widget.LinearLayout;
import android.widget.RadioButton;
import android.widget.RadioGroup;
import android.widget.Spinner;
import android.widget.TextView;

import androidx.annotation.NonNull;
import androidx.annotation.Nullable;
import androidx.fragment.app.Fragment;
import androidx.lifecycle.ViewModelProvider;

import com.google.android.material.button.MaterialButton;
import com.google.android.material.progressindicator.LinearProgressIndicator;
import com.google.android.material.textfield.TextInputEditText;
import com.google.android.material.textfield.TextInputLayout;

import org.bertedge.core.BackendId;
import org.bertedge.core.LatencyStats;
import org.bertedge.core.Manifest;
import org.bertedge.core.Prediction;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** Text box + Classify: every label with its probability; backend, threads and latency. */
public final class ClassifyFragment extends Fragment {
    /** The backends the app knows, in display order; those absent from the bundle are disabled. */
    private static final List<String> BACKENDS = Arrays.asList(
            BackendId.TFLITE_INT8, BackendId.TFLITE_FP32, BackendId.PTE_INT8, BackendId.PTL_INT8,
            BackendId.PTE_FP32, BackendId.TFLITE_INT8_FULL,
            BackendId.MEDIAPIPE);

    private DemoViewModel vm;

    @Nullable
    @Override
    public View onCreateView(@NonNull LayoutInflater inflater, @Nullable ViewGroup container, @Nullable Bundle state) {
        return inflater.inflate(R.layout.fragment_classify, container, false);
    }

    @Override
    public void onViewCreated(@NonNull View v, @Nullable Bundle state) {
        vm = new ViewModelProvider(requireActivity()).get(DemoViewModel.class);
        TextView banner = v.findViewById(R.id.banner);
        TextInputEditText text = v.findViewById(R.id.text);
        RadioGroup group = v.findViewById(R.id.backends);
        Spinner threads = v.findViewById(R.id.threads);
        TextInputEditText runs = v.findViewById(R.id.runs);
        TextInputLayout runsLayout = v.findViewById(R.id.runs_layout);
        MaterialButton classify = v.findViewById(R.id.classify);
        MaterialButton bench = v.findViewById(R.id.benchmark);
        TextView error = v.findViewById(R.id.error);

        // thread count: 1 .. number of cores
        List<Integer> counts = new ArrayList<>();
        for (int i = 1; i <= Math.max(1, Runtime.getRuntime().availableProcessors()); i++) {
            counts.add(i);
        }
        ArrayAdapter<Integer> adapter = new ArrayAdapter<>(requireContext(), android.R.layout.simple_spinner_item, counts);
        adapter.setDropDownViewResource(android.R.layout.simple_spinner_dropdown_item);
        threads.setAdapter(adapter);
        threads.setSelection(Math.max(0, counts.indexOf(vm.threads())));
        threads.setOnItemSelectedListener(new AdapterView.OnItemSelectedListener() {
            @Override
            public void onItemSelected(AdapterView<?> p, View view, int pos, long id) {
                vm.setThreads(counts.get(pos));
            }

            @Override
            public void onNothingSelected(AdapterView<?> p) {
            }
        });

        vm.bundle().observe(getViewLifecycleOwner(), b -> {
            boolean ok = b != null && b.ok();
            Ui.banner(banner, b == null || b.ok() ? null : b.error);
            classify.setEnabled(ok);
            bench.setEnabled(ok);
            group.removeAllViews();
            if (!ok) {
                return;
            }
            Manifest m = b.value.manifest;
            if (vm.backend() == null) {
                vm.setBackend(m.defaultBackend);
            }
            for (String id : BACKENDS) {
                // MediaPipe runs a bundled .tflite that parity marked MediaPipe-ready
                Manifest.ModelEntry mp = BackendId.MEDIAPIPE.equals(id) ? m.mediapipeModel() : null;
                boolean present = BackendId.MEDIAPIPE.equals(id) ? mp != null : m.model(id) != null;
                if (!present && BackendId.TFLITE_INT8_FULL.equals(id)) {
                    continue; // optional backend: only listed when bundled
                }
                RadioButton rb = new RadioButton(requireContext());
                rb.setId(View.generateViewId());
                rb.setTag(id);
                String name = mp != null ? BackendId.displayName(id) + " · " + mp.file : BackendId.displayName(id);
                rb.setText(present ? name : getString(R.string.not_in_bundle, name));
                rb.setEnabled(present);
                group.addView(rb);
                if (id.equals(vm.backend())) {
                    rb.setChecked(true);
                }
            }
        });
        group.setOnCheckedChangeListener((g, checkedId) -> {
            View rb = g.findViewById(checkedId);
            if (rb != null) {
                vm.setBackend((String) rb.getTag());
            }
        });

        classify.setOnClickListener(x -> {
            error.setVisibility(View.GONE);
            vm.classify(String.valueOf(text.getText()));
        });
        bench.setOnClickListener(x -> {
            error.setVisibility(View.GONE);
            int n;
            try {
                n = Integer.parseInt(String.valueOf(runs.getText()).trim());
            } catch (NumberFormatException e) {
                n = -1;
            }
            if (n < 1 || n > 10000) {
                runsLayout.setError(getString(R.string.runs_invalid));
                return;
            }
            runsLayout.setError(null);
            vm.benchmark(String.valueOf(text.getText()), n);
        });
        vm.busy().observe(getViewLifecycleOwner(), busy -> {
            boolean ready = busy == null && vm.bundle().getValue() != null && vm.bundle().getValue().ok();
            classify.setEnabled(ready);
            bench.setEnabled(ready);
        });

        vm.prediction().observe(getViewLifecycleOwner(), p -> showPrediction(v, p));
        vm.latency().observe(getViewLifecycleOwner(), l -> showLatency(v, l));
    }

    private void showPrediction(View v, Outcome<Prediction> o) {
        TextView title = v.findViewById(R.id.result_title);
        LinearLayout rows = v.findViewById(R.id.label_rows);
        TextView details = v.findViewById(R.id.result_details);
        TextView error = v.findViewById(R.id.error);
        rows.removeAllViews();
        if (o == null) {
            return;
        }
        if (!o.ok()) {
            title.setText(R.string.no_result);
            details.setText(null);
            error.setText(o.error);
            error.setVisibility(View.VISIBLE);
            return;
        }
        Prediction p = o.value;
        title.setText(String.format(Locale.ROOT, "%s — %s", p.topLabel(), Ui.percent(p.ranked.get(0).probability)));
        for (Prediction.LabelScore s : p.ranked) {
            LinearLayout row = new LinearLayout(requireContext());
            row.setOrientation(LinearLayout.VERTICAL);
            row.setPadding(0, Ui.dp(requireContext(), 6), 0, 0);
            row.addView(Ui.text(requireContext(), String.format(Locale.ROOT, "%s   %s   (logit %.4f)",
                    s.label, Ui.percent(s.probability), s.logit), false));
            LinearProgressIndicator bar = new LinearProgressIndicator(requireContext());
            bar.setMax(1000);
            bar.setProgressCompat((int) Math.round(1000 * s.probability), false);
            row.addView(bar);
            rows.addView(row);
        }
        details.setText(String.format(Locale.ROOT, "%s · %d tokens%s of max %d · %s",
                BackendId.displayName(p.backend), p.encoding.length,
                p.encoding.truncated ? " (truncated)" : "", p.encoding.maxLength(), Ui.ms(p.latencyMs)));
    }

    private void showLatency(View v, Outcome<LatencyReport> o) {
        TextView latency = v.findViewById(R.id.latency);
        TextView error = v.findViewById(R.id.error);
        if (o == null) {
            return;
        }
        if (!o.ok()) {
            latency.setText(null);
            error.setText(o.error);
            error.setVisibility(View.VISIBLE);
            return;
        }
        LatencyStats s = o.value.stats;
        String backend = BackendId.displayName(o.value.backend);
        latency.setText(String.format(Locale.ROOT,
                "%s, %d thread(s)\nfirst run  %s\np50        %s\np90        %s\nmean       %s\nmin / max  %s / %s\n(N = %d runs after the first)",
                backend, o.value.threads, Ui.ms(s.firstMs), Ui.ms(s.p50Ms), Ui.ms(s.p90Ms), Ui.ms(s.meanMs),
                Ui.ms(s.minMs), Ui.ms(s.maxMs), s.runs));
    }
}

"""siamtrack trainer."""

from siamcore.cpus import choose_openmp_waiting

# Before anything imports torch: training keeps libgomp's spinning threads (faster on a machine given to
# training), whichever of torch and the tracker package is imported first (siamcore.cpus says why).
choose_openmp_waiting(passive=False)
